/**
 * Uploads through the real app and its multipart parser, the body arriving in arbitrary pieces:
 * file contents full of partial boundaries (the parser's look-behind path), cut anywhere, sizes
 * across the file store's write batch. What is stored is exactly what was sent, under the sha256
 * (storage) or CIDv0 (ipfs) of those bytes; an upload aborted part-way leaves no staged file.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { buildInlineMessage, EthAccount } from '@aleph-nodes/protocol';
import { cidV0 } from '../ipfs/cid-v0.ts';
import { openTestApi, type TestApi } from '../testing/api.ts';

const MiB = 1024 * 1024;
const BOUNDARY = 'streamboundary42';

/**
 * File bytes: `size` bytes mixing a fill byte with proper prefixes of the boundary delimiter. The
 * fill byte is not ASCII, so no prefix ever completes into the delimiter itself.
 */
function contents(size: number, seed: number): Buffer {
  const out = Buffer.alloc(size, 0x80 | (seed & 0x7f));
  const delimiter = Buffer.from(`\r\n--${BOUNDARY}`);
  for (let at = seed % 977; at < size; at += 977 + (seed % 13)) delimiter.copy(out, at, 0, 1 + ((at + seed) % (delimiter.length - 1)));
  return out;
}

function body(file: Buffer, metadata?: unknown): Buffer {
  const meta = metadata === undefined ? '' : `--${BOUNDARY}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n${JSON.stringify(metadata)}\r\n`;
  return Buffer.concat([
    Buffer.from(`${meta}--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="blob"\r\nContent-Type: application/octet-stream\r\n\r\n`),
    file,
    Buffer.from(`\r\n--${BOUNDARY}--\r\n`),
  ]);
}

/** Waits for `done` (a condition, not a duration: the bound only keeps a failure from hanging). */
async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 3000 && !done(); i++) await new Promise((r) => setTimeout(r, 10));
}

/** `bytes` as a stream cut at `cuts` (each modulo the length). */
function pieces(bytes: Buffer, cuts: readonly number[]): Readable {
  const points = [...new Set(cuts.map((c) => c % bytes.length))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let at = 0;
  for (const p of [...points, bytes.length]) {
    if (p > at) out.push(bytes.subarray(at, p));
    at = Math.max(at, p);
  }
  return Readable.from(out, { objectMode: false });
}

describe('uploads arriving in pieces', () => {
  let api: TestApi;
  const account = EthAccount.generate();
  const staged = (): string[] => readdirSync(join(api.config.dataDir, 'files', 'tmp'));
  before(async () => {
    api = await openTestApi({ maxAnonymousUploadBytes: 3 * MiB, maxSignedUploadBytes: 3 * MiB });
  });
  after(async () => {
    await api.dispose();
  });

  const upload = async (url: string, payload: Buffer, cuts: readonly number[]): Promise<{ statusCode: number; hash: string }> => {
    const res = await api.app.inject({ method: 'POST', url, headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}`, 'content-length': String(payload.length) }, payload: pieces(payload, cuts) });
    return { statusCode: res.statusCode, hash: (JSON.parse(res.body) as { hash: string }).hash };
  };

  it('stores exactly the bytes sent, under their hash, however the body is cut', async () => {
    const sizes = fc.oneof(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: MiB - 3000, max: MiB + 3000 }), fc.integer({ min: 2 * MiB, max: 3 * MiB }));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('storage', 'signed', 'ipfs'), sizes, fc.nat(), fc.array(fc.nat(), { maxLength: 30 }), async (kind, size, seed, cuts) => {
        const file = contents(size, seed);
        const sha = createHash('sha256').update(file).digest('hex');
        const metadata = kind === 'signed' ? { message: buildInlineMessage(account, 'STORE', { item_type: 'storage', item_hash: sha }, { channel: 'TEST' }), sync: false } : undefined;
        const res = await upload(kind === 'ipfs' ? '/api/v0/ipfs/add_file' : '/api/v0/storage/add_file', body(file, metadata), cuts);
        assert.ok([200, 202].includes(res.statusCode), String(res.statusCode));
        assert.equal(res.hash, kind === 'ipfs' ? cidV0(file) : sha);
        const stored = api.stores.fileStore.read(res.hash);
        assert.ok(stored?.equals(file), `${kind} upload of ${size} bytes stored as sent`);
      }),
      { numRuns: 30 },
    );
    assert.deepEqual(staged(), []);
  });

  it('leaves no staged file when the client aborts part-way', async () => {
    await api.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = api.app.server.address() as AddressInfo;
    const payload = body(contents(2 * MiB, 7));
    for (const sent of [100, MiB + 17]) {
      const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/api/v0/storage/add_file', headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}`, 'content-length': payload.length } });
      req.on('error', () => undefined);
      await new Promise<void>((resolve) => req.write(payload.subarray(0, sent), () => resolve()));
      // Past a MiB the node has the upload in its staging area: wait for it, then abort.
      await until(() => sent < MiB || staged().length > 0);
      req.destroy();
      await until(() => staged().length === 0);
      assert.deepEqual(staged(), []);
    }
    // The node still takes uploads afterwards.
    const file = contents(1000, 3);
    const res = await upload('/api/v0/storage/add_file', body(file), [10]);
    assert.equal(res.statusCode, 200);
    assert.ok(readFileSync(join(api.config.dataDir, 'files', res.hash.slice(0, 2), res.hash)).equals(file));
  });
});
