/**
 * The official SDK (@aleph-sdk/client 1.7.4), unchanged, against a real CCN process: posts and
 * amends, aggregates, file storage, programs, instances, forgetting, and the read APIs.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AuthenticatedAlephHttpClient } from '@aleph-sdk/client';
import { importAccountFromPrivateKey } from '@aleph-sdk/ethereum';
import { ForgottenMessageError, ItemType } from '@aleph-sdk/message';
import { sha256Hex } from '@aleph-nodes/protocol';
import WebSocket from 'ws';
import { postgresSettings, startCcnProcess, type CcnProcess } from './helpers/ccn-process.ts';

// The public Hardhat/Anvil test key #0: never used for anything of value.
const TEST_KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';
const TEST_ADDRESS = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266';

for (const engine of ['sqlite', 'postgres'] as const) describe(`SDK against the CCN (${engine})`, () => {
  let ccn: CcnProcess;
  let client: AuthenticatedAlephHttpClient;
  const pgSchema = engine === 'postgres' ? postgresSettings() : undefined;

  before(async () => {
    ccn = await startCcnProcess(pgSchema?.settings ?? {});
    client = new AuthenticatedAlephHttpClient(importAccountFromPrivateKey(TEST_KEY), ccn.url);
  });
  after(async () => {
    await ccn?.stop();
    await pgSchema?.drop();
  });

  it('pushes a message created with the SDK to a WebSocket subscriber', async () => {
    // The SDK's watchMessages stays on a public host (aleph-protocol.md §7.4), so subscribe directly.
    const socket = new WebSocket(`${ccn.url.replace(/^http/, 'ws')}/api/ws0/messages?history=0&addresses=${TEST_ADDRESS}&contentTypes=ws-test`);
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('open', () => resolve());
        socket.once('error', reject);
      });
      const frame = new Promise<{ item_hash: string }>((resolve) => socket.once('message', (data) => resolve(JSON.parse(String(data)) as { item_hash: string })));
      const post = await client.createPost({ postType: 'ws-test', content: { live: true }, channel: 'TEST' });
      assert.equal((await frame).item_hash, post.item_hash);
    } finally {
      socket.terminate();
    }
  });

  it('creates a post, amends it and reads the latest version', async () => {
    const post = await client.createPost({ postType: 'sdk-test', content: { hello: 'world' }, channel: 'TEST', sync: true });
    const fetched = await client.getMessage(post.item_hash);
    assert.equal(fetched.item_hash, post.item_hash);
    assert.deepEqual((fetched.content as { content: unknown }).content, { hello: 'world' });

    const amend = await client.createPost({ postType: 'amend', ref: post.item_hash, content: { hello: 'amended' }, channel: 'TEST', sync: true });
    const posts = await client.getPosts({ types: 'sdk-test', addresses: [TEST_ADDRESS] });
    assert.equal(posts.posts.length, 1);
    const merged = posts.posts[0];
    assert.ok(merged);
    assert.deepEqual(merged.content, { hello: 'amended' });
    assert.equal(merged.item_hash, amend.item_hash);
    assert.equal(merged.original_item_hash, post.item_hash);
    assert.equal(merged.type, 'amend');
  });

  it('merges aggregate elements', async () => {
    await client.createAggregate({ key: 'profile', content: { name: 'alice', age: 1 }, channel: 'TEST', sync: true });
    await client.createAggregate({ key: 'profile', content: { age: 2 }, channel: 'TEST', sync: true });
    const profile = await client.fetchAggregate<{ name: string; age: number }>(TEST_ADDRESS, 'profile');
    assert.deepEqual(profile, { name: 'alice', age: 2 });
  });

  it('stores a file and downloads it', async () => {
    const bytes = new TextEncoder().encode('hello aleph storage probe\n');
    const store = await client.createStore({ fileObject: new Blob([bytes]), storageEngine: ItemType.storage, channel: 'TEST', sync: true });
    assert.equal((store.content as { item_hash: string }).item_hash, sha256Hex(bytes));
    const downloaded = new Uint8Array(await client.downloadFile(sha256Hex(bytes)));
    assert.deepEqual(downloaded, bytes);
    const message = await client.getMessage(store.item_hash);
    assert.equal((message.content as { size: number }).size, bytes.length);
  });

  it('creates a program whose code and runtime are STOREs on this node', async () => {
    const runtime = await client.createStore({
      fileObject: new Blob([new TextEncoder().encode('runtime image stand-in')]),
      storageEngine: ItemType.storage,
      channel: 'TEST',
      sync: true,
    });
    const program = await client.createProgram({
      file: new Blob([new TextEncoder().encode('PK fake zip for the test')]),
      entrypoint: 'main:app',
      runtime: runtime.item_hash,
      storageEngine: ItemType.storage,
      channel: 'TEST',
    });
    // createProgram broadcasts with sync: the program is processed when the SDK returns.
    const status = (await (await fetch(`${ccn.url}/api/v0/messages/${program.item_hash}/status`)).json()) as { status: string };
    assert.equal(status.status, 'processed');
    const fetched = await client.getMessage(program.item_hash);
    assert.equal(fetched.type, 'PROGRAM');
  });

  it('creates a program with the default ipfs engine (CIDv0 computed by the node)', async () => {
    const runtime = await client.createStore({
      fileObject: new Blob([new TextEncoder().encode('another runtime stand-in')]),
      storageEngine: ItemType.ipfs,
      channel: 'TEST',
      sync: true,
    });
    assert.match((runtime.content as { item_hash: string }).item_hash, /^Qm/);
    const program = await client.createProgram({
      file: new Blob([new TextEncoder().encode('PK another fake zip')]),
      entrypoint: 'main:app',
      runtime: runtime.item_hash,
      channel: 'TEST',
    });
    const res = await fetch(`${ccn.url}/api/v0/messages/${program.item_hash}`);
    assert.equal(((await res.json()) as { status: string }).status, 'processed');
    const code = (program.content as { code: { ref: string } }).code.ref;
    const codeStore = await client.getMessage(code);
    const cid = (codeStore.content as { item_hash: string }).item_hash;
    const bytes = new Uint8Array(await client.downloadFile(cid));
    assert.equal(new TextDecoder().decode(bytes), 'PK another fake zip');
  });

  it('creates an instance from a rootfs STORE', async () => {
    const rootfs = await client.createStore({
      fileObject: new Blob([new TextEncoder().encode('rootfs stand-in')]),
      storageEngine: ItemType.storage,
      channel: 'TEST',
      sync: true,
    });
    const instance = await client.createInstance({ rootfs: { parent: { ref: rootfs.item_hash }, size_mib: 20_480 }, channel: 'TEST' });
    const res = await fetch(`${ccn.url}/api/v0/messages/${instance.item_hash}`);
    const body = (await res.json()) as { status: string };
    assert.equal(body.status, 'processed');
  });

  it('forgets a post', async () => {
    const post = await client.createPost({ postType: 'to-forget', content: { x: 1 }, channel: 'TEST', sync: true });
    await client.forget({ hashes: [post.item_hash], reason: 'test', channel: 'TEST', sync: true });
    await assert.rejects(client.getMessage(post.item_hash), ForgottenMessageError);
    const posts = await client.getPosts({ types: 'to-forget' });
    assert.equal(posts.posts.length, 0);
  });

  it('lists messages with the SDK filters', async () => {
    const res = await client.getMessages({ addresses: [TEST_ADDRESS], channels: ['TEST'], messageTypes: ['STORE' as never], pagination: 50, page: 1 });
    assert.ok(res.messages.length >= 3);
    for (const m of res.messages) assert.equal(m.type, 'STORE');
  });
});
