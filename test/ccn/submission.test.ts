/**
 * Submission semantics against a real CCN process, with the reference test vectors (aleph-protocol.md §10):
 * status codes, tampering, idempotent re-submission, dependencies that arrive late or never,
 * the legacy pubsub route and the per-status message bodies.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ALEPH_ERROR, buildInlineMessage, EthAccount, sha256Hex, type AlephMessage } from '@aleph-nodes/protocol';
import { startCcnProcess, type CcnProcess } from './helpers/ccn-process.ts';
import { eventually } from '../helpers/eventually.ts';

const SENDER = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266';
const VECTOR_POST: AlephMessage = {
  chain: 'ETH',
  sender: SENDER,
  channel: 'TEST',
  time: 1795299904.745,
  item_type: 'inline',
  item_hash: '1b966460e3d334b815ababbbe03f7c62921a6edc5c8ce6f1208d410f393a7e9e',
  item_content: `{"type":"test-post","address":"${SENDER}","content":{"hello":"world","n":1},"time":1795299904.745}`,
  signature:
    '0xc81f4faba264f108bb8937480bb76e15b9e0980adec80fd4042233085a044c4d3ff735800739d2535e01687c4e2074d53f0e73e5736a254dc00e13a8c6f14e551b',
  type: 'POST',
};
const VECTOR_STORE_METADATA = {
  message: {
    chain: 'ETH',
    sender: SENDER,
    channel: 'TEST',
    time: 1795299904.886,
    item_type: 'inline',
    item_hash: 'dadf02285d973b71536f7aec733ea9568b81874cc7f9a0055a6854140bec2961',
    item_content: `{"address":"${SENDER}","item_type":"storage","item_hash":"5c86e7cc67169a1f6c4e4b799c7830169748d6f8c8cf596476910855befbc2bd","time":1795299904.886}`,
    signature:
      '0x53d6e865638249f61211cd4a6890051b056ad549347ec9d7647ae51e600494601e2581cebd6e23304129550415bf15d125c159e796d2bc2b786c4e63a94258bc1b',
    type: 'STORE',
  },
  sync: true,
};
const VECTOR_PROGRAM: AlephMessage = {
  chain: 'ETH',
  sender: SENDER,
  channel: 'TEST',
  time: 1795299904.984,
  item_type: 'inline',
  item_hash: '75740240d3bb3ec3d81b21d6660d92263328751810bd51169529125ec333b4d0',
  item_content: `{"address":"${SENDER}","time":1795299904.984,"type":"vm-function","allow_amend":false,"on":{"http":true,"persistent":false},"environment":{"reproducible":false,"internet":true,"aleph_api":true,"shared_cache":false},"resources":{"vcpus":1,"memory":256,"seconds":30},"runtime":{"ref":"63f07193e6ee9d207b7d1fcf8286f9aee34e6f12f101d2ec77c1229f92964696","use_latest":true,"comment":"Aleph Alpine Linux with Python 3.12"},"volumes":[],"variables":{"FOO":"bar"},"payment":{"chain":"ETH","type":"hold"},"code":{"encoding":"zip","entrypoint":"main:app","ref":"d6266978665296d8cd8dfb51354d87299b11549ce838a4ba86f5b3b4e905fa0f","use_latest":true}}`,
  signature:
    '0x5b3c188040ac415f6ff8ccd550dc31d73ed410e70ac19f90ec770ab37153a21e09e768e4fa74b82c17f82aa793e9fee4d98093db5a45b9b26cac2d838e5d0dbf1b',
  type: 'PROGRAM',
};

interface Json {
  [key: string]: unknown;
}

describe('message submission', () => {
  let ccn: CcnProcess;

  const post = async (path: string, body: unknown): Promise<{ status: number; body: Json }> => {
    const res = await fetch(`${ccn.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Json };
  };
  const get = async (path: string): Promise<{ status: number; body: Json }> => {
    const res = await fetch(`${ccn.url}${path}`);
    return { status: res.status, body: (await res.json()) as Json };
  };
  const submit = (message: unknown, sync = false): Promise<{ status: number; body: Json }> => post('/api/v0/messages', { sync, message });
  const settled = (hash: string): Promise<Json> =>
    eventually('the message to leave pending', 60_000, async () => {
      const { body } = await get(`/api/v0/messages/${hash}`);
      return body.status === 'pending' ? undefined : body;
    });
  const upload = async (bytes: Uint8Array, metadata?: unknown): Promise<{ status: number; body: Json }> => {
    const form = new FormData();
    if (metadata !== undefined) form.append('metadata', JSON.stringify(metadata));
    form.append('file', new Blob([bytes]), 'blob');
    const res = await fetch(`${ccn.url}/api/v0/storage/add_file`, { method: 'POST', body: form });
    return { status: res.status, body: (await res.json()) as Json };
  };

  before(async () => {
    ccn = await startCcnProcess();
  });
  after(async () => {
    await ccn?.stop();
  });

  it('accepts vector 1 asynchronously with 202, then processes it', async () => {
    const res = await submit(VECTOR_POST);
    assert.equal(res.status, 202);
    // A lone node: no peer took the message, and the answer says so (it is stored all the same).
    assert.deepEqual(res.body, { publication_status: { status: 'warning', failed: ['p2p'] }, message_status: 'pending' });
    const body = await settled(VECTOR_POST.item_hash);
    assert.equal(body.status, 'processed');
    const message = body.message as Json;
    assert.deepEqual(message.content, JSON.parse(VECTOR_POST.item_content as string));
    for (const internal of ['status', 'owner', 'reception_time', 'content_type', 'content_ref']) assert.ok(!(internal in message), internal);
  });

  it('answers 200 to a re-submission of a processed message', async () => {
    const res = await submit(VECTOR_POST, true);
    assert.equal(res.status, 200);
    assert.equal(res.body.message_status, 'processed');
  });

  it('rejects tampered vectors with 422 at once', async () => {
    const tampered: AlephMessage[] = [
      { ...VECTOR_POST, item_content: (VECTOR_POST.item_content as string).replace('world', 'w0rld') },
      { ...VECTOR_POST, sender: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8' },
      { ...VECTOR_POST, signature: `${VECTOR_POST.signature.slice(0, -4)}00${VECTOR_POST.signature.slice(-2)}` },
      { ...VECTOR_POST, type: 'AGGREGATE' },
      { ...VECTOR_POST, item_hash: VECTOR_POST.item_hash.toUpperCase() },
    ];
    for (const message of tampered) {
      const res = await submit(message);
      assert.equal(res.status, 422, JSON.stringify(message).slice(0, 200));
      assert.equal(typeof (res.body.error as Json).code, 'string');
    }
    const missing = await get(`/api/v0/messages/${sha256Hex('never submitted')}`);
    assert.equal(missing.status, 404);
  });

  it('rejects malformed bodies with a JSON error, never a crash', async () => {
    const res = await fetch(`${ccn.url}/api/v0/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"message": ' });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: Json }).error.code, 'INVALID_JSON');
    const noMessage = await post('/api/v0/messages', { sync: false });
    assert.equal(noMessage.status, 422);
    const badHash = await get('/api/v0/messages/not-a-hash');
    assert.equal(badHash.status, 400);
  });

  it('stores the vector 2 file with its signed STORE message', async () => {
    const bytes = new TextEncoder().encode('hello aleph storage probe\n');
    const res = await upload(bytes, VECTOR_STORE_METADATA);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { status: 'success', hash: '5c86e7cc67169a1f6c4e4b799c7830169748d6f8c8cf596476910855befbc2bd' });
    const raw = await fetch(`${ccn.url}/api/v0/storage/raw/5c86e7cc67169a1f6c4e4b799c7830169748d6f8c8cf596476910855befbc2bd?find`);
    assert.deepEqual(new Uint8Array(await raw.arrayBuffer()), bytes);
    const count = await get('/api/v0/storage/count/5c86e7cc67169a1f6c4e4b799c7830169748d6f8c8cf596476910855befbc2bd');
    assert.equal(count.body, 1);
  });

  it('refuses a file that does not match its STORE message (the SDK Buffer bug)', async () => {
    const mangled = new TextEncoder().encode('hello aleph storage probe\r\n');
    const res = await upload(mangled, VECTOR_STORE_METADATA);
    assert.equal(res.status, 422);
    assert.equal((res.body.error as Json).code, 'FILE_HASH_MISMATCH');
  });

  it('keeps vector 3 pending while its code STORE is missing, then rejects it with 300', async () => {
    const res = await submit(VECTOR_PROGRAM);
    assert.equal(res.status, 202);
    const body = await settled(VECTOR_PROGRAM.item_hash);
    assert.equal(body.status, 'rejected');
    assert.equal(body.error_code, ALEPH_ERROR.VM_REF_NOT_FOUND);
    assert.deepEqual(body.message, VECTOR_PROGRAM);
  });

  it('processes a message once a late dependency arrives', async () => {
    const account = EthAccount.generate();
    const code = new TextEncoder().encode(`code ${account.address}`);
    const codeStore = buildInlineMessage(account, 'STORE', { item_type: 'storage', item_hash: sha256Hex(code) });
    const runtime = buildInlineMessage(account, 'STORE', { item_type: 'storage', item_hash: sha256Hex(code) }, { time: Date.now() / 1000 + 0.001 });
    const program = buildInlineMessage(account, 'PROGRAM', {
      type: 'vm-function',
      allow_amend: false,
      on: { http: true },
      runtime: { ref: runtime.item_hash, use_latest: true, comment: 'test runtime' },
      code: { encoding: 'zip', entrypoint: 'main:app', ref: codeStore.item_hash, use_latest: false },
    });
    assert.equal((await submit(program)).status, 202);
    // The STOREs themselves wait for their file, which comes last.
    assert.equal((await submit(codeStore)).status, 202);
    assert.equal((await submit(runtime)).status, 202);
    assert.equal((await upload(code)).status, 200);
    const body = await settled(program.item_hash);
    assert.equal(body.status, 'processed');
  });

  it('answers a sync submission with the processing result', async () => {
    const account = EthAccount.generate();
    const ok = buildInlineMessage(account, 'POST', { type: 'note', content: { n: 1 } });
    const res = await submit(ok, true);
    assert.equal(res.status, 200);
    assert.equal(res.body.message_status, 'processed');
    // An amend of a post owned by someone else is rejected: 422 in sync mode.
    const other = EthAccount.generate();
    const foreignAmend = buildInlineMessage(other, 'POST', { type: 'amend', ref: ok.item_hash, content: { n: 2 } });
    const rejected = await submit(foreignAmend, true);
    assert.equal(rejected.status, 422);
    const status = await get(`/api/v0/messages/${foreignAmend.item_hash}`);
    assert.equal(status.body.status, 'rejected');
    assert.equal(status.body.error_code, ALEPH_ERROR.PERMISSION_DENIED);
  });

  it('accepts the legacy pubsub route with an object or a string, and only its topic', async () => {
    const account = EthAccount.generate();
    const a = buildInlineMessage(account, 'POST', { type: 'pubsub', content: 1 });
    const b = buildInlineMessage(account, 'POST', { type: 'pubsub', content: 2 });
    assert.equal((await post('/api/v0/ipfs/pubsub/pub', { topic: 'ALEPH-TEST', data: a })).status, 200);
    assert.equal((await post('/api/v0/p2p/pubsub/pub', { topic: 'ALEPH-TEST', data: JSON.stringify(b) })).status, 200);
    assert.equal((await post('/api/v0/ipfs/pubsub/pub', { topic: 'OTHER', data: a })).status, 403);
    assert.equal((await settled(a.item_hash)).status, 'processed');
    assert.equal((await settled(b.item_hash)).status, 'processed');
  });

  it('serves non-inline message contents from storage', async () => {
    const account = EthAccount.generate();
    const content = JSON.stringify({ type: 'big', address: account.address, time: Date.now() / 1000, content: { big: 'x'.repeat(100) } });
    const stored = await fetch(`${ccn.url}/api/v0/storage/add_json`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: content });
    const { hash } = (await stored.json()) as { hash: string };
    assert.equal(hash, sha256Hex(content));
    const unsigned = { chain: 'ETH', sender: account.address, type: 'POST' as const, channel: 'TEST', time: Date.now() / 1000, item_type: 'storage' as const, item_hash: hash };
    const signature = account.signPersonal(`ETH\n${account.address}\nPOST\n${hash}`);
    const res = await submit({ ...unsigned, signature }, true);
    assert.equal(res.status, 200);
    const body = await get(`/api/v0/messages/${hash}`);
    const message = body.body.message as Json;
    assert.equal(message.item_content, null);
    assert.deepEqual((message.content as Json).content, { big: 'x'.repeat(100) });
  });
});
