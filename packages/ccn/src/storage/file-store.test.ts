/**
 * Staging uploads (file-store.ts): one pass that hashes, batches and writes. Whatever the chunking
 * of the source (chunks across the write batch boundary, sizes across the batch size), the staged bytes and hash are exactly the source's; a failing or
 * oversized source leaves no temporary file.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { cidV0, CidV0Hasher } from '../ipfs/cid-v0.ts';
import { FileStore, FileTooLargeError } from './file-store.ts';

const MiB = 1024 * 1024;
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** `bytes` as a byte stream cut at `cuts` (each cut taken modulo the length). */
function chunked(bytes: Buffer, cuts: readonly number[]): Readable {
  const points = [...new Set(cuts.map((c) => (bytes.length === 0 ? 0 : c % bytes.length)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let at = 0;
  for (const p of [...points, bytes.length]) {
    if (p > at) chunks.push(bytes.subarray(at, p));
    at = Math.max(at, p);
  }
  return Readable.from(chunks, { objectMode: false });
}

describe('FileStore.stage', () => {
  let dir: string;
  let store: FileStore;
  const staging = (): string[] => readdirSync(join(dir, 'tmp'));
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'file-store-test-'));
    store = new FileStore(dir);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('stores exactly the bytes and hash of any chunking, across the write batch size', async () => {
    const sizes = fc.oneof(fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: MiB - 5000, max: MiB + 5000 }), fc.integer({ min: 2 * MiB - 100, max: 3 * MiB }));
    await fc.assert(
      fc.asyncProperty(sizes, fc.array(fc.nat(), { maxLength: 40 }), fc.integer({ min: 0, max: 2 ** 31 }), async (size, cuts, seed) => {
        const bytes = Buffer.alloc(size, seed & 0xff);
        for (let i = 0; i < size; i += 997) bytes[i] = (seed >> 3) + i;
        const cid = new CidV0Hasher();
        const staged = await store.stage(chunked(bytes, cuts), size, cid);
        try {
          assert.equal(staged.size, size);
          assert.equal(staged.sha256, sha256(bytes));
          assert.ok(readFileSync(staged.path).equals(bytes));
          assert.equal(cid.digest(), cidV0(bytes));
        } finally {
          store.discard(staged);
        }
      }),
      { numRuns: 40 },
    );
    assert.deepEqual(staging(), []);
  });

  it('refuses a source past the limit, destroys it and leaves no temporary file', async () => {
    const source = chunked(randomBytes(3 * MiB), [1000, MiB, 2 * MiB]);
    await assert.rejects(store.stage(source, 2 * MiB), FileTooLargeError);
    assert.ok(source.destroyed);
    assert.deepEqual(staging(), []);
    const exact = await store.stage(chunked(Buffer.alloc(2 * MiB, 1), [7]), 2 * MiB);
    assert.equal(exact.size, 2 * MiB);
    store.discard(exact);
  });

  it('leaves no temporary file when the source fails part-way (an aborted upload)', async () => {
    for (const failAfter of [0, 1, 3 * MiB]) {
      const source = Readable.from(
        (async function* failing() {
          for (let sent = 0; sent < failAfter; sent += 64 * 1024) yield randomBytes(64 * 1024);
          throw new Error('connection reset');
        })(),
        { objectMode: false },
      );
      await assert.rejects(store.stage(source, 10 * MiB), /connection reset/);
      assert.deepEqual(staging(), [], `failing after ${failAfter} bytes`);
    }
  });

  it('commits under a hash and serves ranges of it', async () => {
    const bytes = randomBytes(600 * 1024);
    const staged = await store.stage(chunked(bytes, [5, 300_000]), bytes.length);
    store.commit(staged, staged.sha256);
    assert.deepEqual(staging(), []);
    const read = async (range?: { start: number; end: number }): Promise<Buffer> => {
      const chunks: Buffer[] = [];
      for await (const c of store.stream(staged.sha256, range) as AsyncIterable<Buffer>) chunks.push(c);
      return Buffer.concat(chunks);
    };
    assert.ok((await read()).equals(bytes));
    assert.ok((await read({ start: 262_000, end: 524_300 })).equals(bytes.subarray(262_000, 524_301)));
    assert.ok((await read({ start: bytes.length - 1, end: bytes.length - 1 })).equals(bytes.subarray(-1)));
    store.delete(staged.sha256);
  });
});
