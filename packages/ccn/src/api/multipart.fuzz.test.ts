/**
 * Fuzzing the upload routes through the real app (`inject`): multipart bodies built from random
 * parts, SDK-shaped signed uploads mutated byte by byte, and random `add_json` bodies. Never a
 * 5xx; an accepted upload is stored under the hash of what arrived, and no staged file is left.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { buildInlineMessage, EthAccount, sha256Hex } from '@aleph-nodes/protocol';
import { fuzzRuns } from '@aleph-nodes/protocol/testing';
import { openTestApi, type TestApi } from '../testing/api.ts';

const ROUTES = ['/api/v0/storage/add_file', '/api/v0/ipfs/add_file'] as const;

interface Part {
  name: string;
  filename: string | undefined;
  contentType: string | undefined;
  body: Uint8Array;
}

function multipart(boundary: string, parts: readonly Part[], epilogue = true): Buffer {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const disposition = `form-data; name="${p.name}"${p.filename !== undefined ? `; filename="${p.filename}"` : ''}`;
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n${p.contentType ? `Content-Type: ${p.contentType}\r\n` : ''}\r\n`));
    chunks.push(Buffer.from(p.body), Buffer.from('\r\n'));
  }
  if (epilogue) chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}

/** An upload as the SDK sends it: signed STORE metadata, then the file. */
function sdkUpload(account: EthAccount, file: Uint8Array, boundary: string): Buffer {
  const message = buildInlineMessage(account, 'STORE', { item_type: 'storage', item_hash: sha256Hex(file) }, { channel: 'FUZZ' });
  return multipart(boundary, [
    { name: 'metadata', filename: undefined, contentType: undefined, body: Buffer.from(JSON.stringify({ message, sync: false })) },
    { name: 'file', filename: 'blob', contentType: 'application/octet-stream', body: file },
  ]);
}

const byteEdit = fc.record({ at: fc.nat(), op: fc.constantFrom('flip', 'insert', 'delete', 'truncate'), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) });

function applyEdits(body: Buffer, edits: readonly { at: number; op: string; bytes: Uint8Array }[]): Buffer {
  let out = Buffer.from(body);
  for (const e of edits) {
    const at = out.length === 0 ? 0 : e.at % out.length;
    if (e.op === 'flip' && out.length > 0) out[at] = (out[at] as number) ^ (e.bytes[0] as number);
    else if (e.op === 'insert') out = Buffer.concat([out.subarray(0, at), e.bytes, out.subarray(at)]);
    else if (e.op === 'delete') out = Buffer.concat([out.subarray(0, at), out.subarray(at + e.bytes.length)]);
    else if (e.op === 'truncate') out = out.subarray(0, at);
  }
  return out;
}

const partArb: fc.Arbitrary<Part> = fc.record({
  name: fc.oneof(fc.constantFrom('file', 'metadata'), fc.string({ maxLength: 12 })),
  filename: fc.option(fc.string({ maxLength: 12 }), { nil: undefined }),
  contentType: fc.option(fc.constantFrom('application/json', 'application/octet-stream', 'text/plain', 'application/json; charset=utf-8'), { nil: undefined }),
  body: fc.oneof(fc.uint8Array({ maxLength: 256 }), fc.json().map((j) => Buffer.from(j)), fc.jsonValue().map((j) => Buffer.from(JSON.stringify({ message: j, sync: false })))),
});

describe('upload routes (fuzz)', () => {
  let api: TestApi;
  const account = EthAccount.generate();
  before(async () => {
    api = await openTestApi({ maxMetadataBytes: 4096, maxAnonymousUploadBytes: 64 * 1024, maxSignedUploadBytes: 128 * 1024 });
  });
  after(async () => {
    await api.dispose();
  });

  const post = async (url: string, contentType: string, payload: Buffer): Promise<{ statusCode: number; body: string }> => {
    const res = await api.app.inject({ method: 'POST', url, headers: { 'content-type': contentType }, payload });
    assert.ok(res.statusCode < 500, `${url}: ${res.statusCode} ${res.body}`);
    return res;
  };
  const stagedFiles = (): string[] => readdirSync(join(api.config.dataDir, 'files', 'tmp'));

  it('bodies built from random parts: never 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ROUTES),
        fc.array(partArb, { maxLength: 4 }),
        fc.oneof(fc.constant('fuzzboundary'), fc.string({ minLength: 1, maxLength: 70 })),
        fc.boolean(),
        async (url, parts, boundary, epilogue) => {
          await post(url, `multipart/form-data; boundary=${boundary}`, multipart(boundary, parts, epilogue));
        },
      ),
      { numRuns: fuzzRuns() },
    );
  });

  it('SDK-shaped signed uploads, mutated byte by byte: never 5xx; what is accepted is what arrived', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ROUTES), fc.uint8Array({ maxLength: 512 }), fc.array(byteEdit, { maxLength: 3 }), async (url, file, edits) => {
        const body = applyEdits(sdkUpload(account, file, 'sdkboundary'), edits);
        const res = await post(url, 'multipart/form-data; boundary=sdkboundary', body);
        if (res.statusCode === 200 || res.statusCode === 202) {
          const hash = (JSON.parse(res.body) as { hash: string }).hash;
          assert.ok(api.stores.fileStore.has(hash), `accepted ${hash} is stored`);
        }
      }),
      { numRuns: fuzzRuns() },
    );
    assert.deepEqual(stagedFiles(), []);
  });

  it('random content types and bodies, and add_json: never 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ROUTES, '/api/v0/storage/add_json', '/api/v0/ipfs/add_json'),
        fc.oneof(fc.constantFrom('application/json', 'multipart/form-data', 'multipart/form-data; boundary=', 'text/plain', 'application/octet-stream'), fc.string({ maxLength: 40 })),
        fc.oneof(fc.uint8Array({ maxLength: 512 }), fc.json().map((j) => Buffer.from(j)), fc.string().map((s) => Buffer.from(s))),
        async (url, contentType, body) => {
          await post(url, contentType, Buffer.from(body));
        },
      ),
      { numRuns: fuzzRuns() },
    );
    assert.deepEqual(stagedFiles(), []);
  });
});
