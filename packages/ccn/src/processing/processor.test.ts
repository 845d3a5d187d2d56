import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ALEPH_ERROR, buildInlineMessage, EthAccount, sha256Hex, type AlephMessage } from '@aleph-nodes/protocol';
import { silentLogger } from '@aleph-nodes/service';
import { ccnConfig } from '../config.ts';
import type { Stores } from '../stores.ts';
import { ENGINES, openTestStores, type TestStores } from '../testing/engines.ts';
import { MessageProcessor } from './processor.ts';

for (const engine of ENGINES) describe(`message processor (${engine})`, () => {
  let test: TestStores;
  let dir: string;
  let stores: Stores;
  let processor: MessageProcessor;

  beforeEach(async () => {
    test = await openTestStores(engine);
    dir = test.dataDir;
    stores = test.stores;
    processor = new MessageProcessor(stores, ccnConfig({ dataDir: dir, retryBaseMs: 10, retryMaxMs: 40, maxRetries: 3, paymentChecks: false }), silentLogger());
    processor.start();
  });
  afterEach(async () => {
    await processor.stop();
    await test.dispose();
  });

  const run = async (message: AlephMessage): Promise<string> => {
    await processor.submit(message);
    return processor.waitFor(message.item_hash, 10_000);
  };
  const storeFile = async (bytes: Uint8Array): Promise<string> => {
    const hash = sha256Hex(bytes);
    stores.fileStore.commit(await stores.fileStore.stageBytes(bytes), hash);
    await stores.files.upsert(hash, 'storage', bytes.length, Date.now() / 1000, Date.now() / 1000 + 60);
    return hash;
  };
  const row = (hash: string): ReturnType<Stores['messages']['get']> => stores.messages.get(hash);

  it('rejects a FORGET without targets (500) and a FORGET of a FORGET (502)', async () => {
    const alice = EthAccount.generate();
    const empty = buildInlineMessage(alice, 'FORGET', { hashes: [] });
    assert.equal(await run(empty), 'rejected');
    assert.equal((await row(empty.item_hash))?.error_code, ALEPH_ERROR.FORGET_NO_TARGET);

    const post = buildInlineMessage(alice, 'POST', { type: 'note', content: 1 });
    assert.equal(await run(post), 'processed');
    const forget = buildInlineMessage(alice, 'FORGET', { hashes: [post.item_hash] });
    assert.equal(await run(forget), 'processed');
    const forgetForget = buildInlineMessage(alice, 'FORGET', { hashes: [forget.item_hash] });
    assert.equal(await run(forgetForget), 'rejected');
    assert.equal((await row(forgetForget.item_hash))?.error_code, ALEPH_ERROR.FORGET_FORGET);
  });

  it("refuses to forget someone else's message (2)", async () => {
    const alice = EthAccount.generate();
    const bob = EthAccount.generate();
    const post = buildInlineMessage(alice, 'POST', { type: 'note', content: 1 });
    assert.equal(await run(post), 'processed');
    const forget = buildInlineMessage(bob, 'FORGET', { hashes: [post.item_hash] });
    assert.equal(await run(forget), 'rejected');
    assert.equal((await row(forget.item_hash))?.error_code, ALEPH_ERROR.PERMISSION_DENIED);
    assert.equal((await row(post.item_hash))?.status, 'processed');
  });

  it('forgets a post with its amends, and keeps the header with forgotten_by', async () => {
    const alice = EthAccount.generate();
    const post = buildInlineMessage(alice, 'POST', { type: 'note', content: 1 }, { time: 1000 });
    const amend = buildInlineMessage(alice, 'POST', { type: 'amend', ref: post.item_hash, content: 2 }, { time: 1001 });
    assert.equal(await run(post), 'processed');
    assert.equal(await run(amend), 'processed');
    assert.equal((await row(post.item_hash))?.post_last_amend, amend.item_hash);
    const forget = buildInlineMessage(alice, 'FORGET', { hashes: [post.item_hash], reason: 'gone' });
    assert.equal(await run(forget), 'processed');
    for (const hash of [post.item_hash, amend.item_hash]) {
      const stored = await row(hash);
      assert.equal(stored?.status, 'forgotten');
      assert.equal(stored?.item_content, null);
      assert.equal(stored?.signature, hash === post.item_hash ? post.signature : amend.signature);
      assert.deepEqual(JSON.parse(stored?.forgotten_by ?? '[]'), [forget.item_hash]);
    }
  });

  it('forgets aggregate keys and recomputes the value', async () => {
    const alice = EthAccount.generate();
    const a = buildInlineMessage(alice, 'AGGREGATE', { key: 'settings', content: { a: 1 } }, { time: 1000 });
    const b = buildInlineMessage(alice, 'AGGREGATE', { key: 'settings', content: { b: 2 } }, { time: 1001 });
    const keep = buildInlineMessage(alice, 'AGGREGATE', { key: 'other', content: { c: 3 } }, { time: 1002 });
    for (const m of [a, b, keep]) assert.equal(await run(m), 'processed');
    assert.deepEqual((await stores.aggregates.values(alice.address, ['settings']))[0]?.value, { a: 1, b: 2 });
    const forget = buildInlineMessage(alice, 'FORGET', { hashes: [], aggregates: ['settings'] });
    assert.equal(await run(forget), 'processed');
    assert.deepEqual(await stores.aggregates.values(alice.address, ['settings']), []);
    assert.deepEqual((await stores.aggregates.values(alice.address, ['other']))[0]?.value, { c: 3 });
    assert.equal((await row(a.item_hash))?.status, 'forgotten');
  });

  it('refuses to forget a STORE still used by a program (503)', async () => {
    const alice = EthAccount.generate();
    const file = await storeFile(new TextEncoder().encode(`code of ${alice.address}`));
    const store = buildInlineMessage(alice, 'STORE', { item_type: 'storage', item_hash: file });
    assert.equal(await run(store), 'processed');
    assert.equal(await stores.files.pinCount(file), 1);
    const program = buildInlineMessage(alice, 'PROGRAM', {
      type: 'vm-function',
      allow_amend: false,
      on: { http: true },
      runtime: { ref: store.item_hash, use_latest: true, comment: '' },
      code: { encoding: 'zip', entrypoint: 'main:app', ref: store.item_hash, use_latest: false },
    });
    assert.equal(await run(program), 'processed');
    const forget = buildInlineMessage(alice, 'FORGET', { hashes: [store.item_hash] });
    assert.equal(await run(forget), 'rejected');
    assert.equal((await row(forget.item_hash))?.error_code, ALEPH_ERROR.FORGET_NOT_ALLOWED);

    // Once the program is forgotten, the STORE can go and its pin is released.
    assert.equal(await run(buildInlineMessage(alice, 'FORGET', { hashes: [program.item_hash] })), 'processed');
    assert.equal(await run(buildInlineMessage(alice, 'FORGET', { hashes: [store.item_hash] }, { time: Date.now() / 1000 + 0.01 })), 'processed');
    assert.equal(await stores.files.pinCount(file), 0);
    // No longer referenced: kept for the grace period, then collected (pyaleph: a grace period
    // pin), so that another STORE of it arriving late finds it on every node alike.
    const grace = (await stores.files.get(file))?.grace_until ?? 0;
    assert.ok(grace >= Date.now() / 1000 + 3600, 'kept for the grace period');
    assert.deepEqual((await stores.files.expiredUnpinned(grace + 1)).map((f) => f.hash), [file]);
  });

  it('honours a security aggregate delegation, which only the owner may write', async () => {
    const owner = EthAccount.generate();
    const delegate = EthAccount.generate();
    const forged = buildInlineMessage(delegate, 'AGGREGATE', { key: 'security', content: { authorizations: [{ address: delegate.address }] } }, { address: owner.address });
    assert.equal(await run(forged), 'rejected');
    assert.equal((await row(forged.item_hash))?.error_code, ALEPH_ERROR.PERMISSION_DENIED);

    const grant = buildInlineMessage(owner, 'AGGREGATE', {
      key: 'security',
      content: { authorizations: [{ address: delegate.address, types: ['POST'], post_types: ['blog'] }] },
    });
    assert.equal(await run(grant), 'processed');
    const allowed = buildInlineMessage(delegate, 'POST', { type: 'blog', content: 'hi' }, { address: owner.address });
    assert.equal(await run(allowed), 'processed');
    const otherType = buildInlineMessage(delegate, 'POST', { type: 'news', content: 'hi' }, { address: owner.address });
    assert.equal(await run(otherType), 'rejected');
    const aggregate = buildInlineMessage(delegate, 'AGGREGATE', { key: 'profile', content: { x: 1 } }, { address: owner.address });
    assert.equal(await run(aggregate), 'rejected');
  });

  it('rejects after the retries when a dependency never comes, then accepts it again once it exists', async () => {
    const alice = EthAccount.generate();
    const bytes = new TextEncoder().encode(`late file of ${alice.address}`);
    const store = buildInlineMessage(alice, 'STORE', { item_type: 'storage', item_hash: sha256Hex(bytes) });
    assert.equal(await run(store), 'rejected');
    const stored = await row(store.item_hash);
    assert.equal(stored?.error_code, ALEPH_ERROR.FILE_UNAVAILABLE);
    assert.equal(stored?.retries, 3);

    await storeFile(bytes);
    assert.deepEqual(await processor.submit(store), { itemHash: store.item_hash, status: 'pending' });
    assert.equal(await processor.waitFor(store.item_hash, 10_000), 'processed');
    assert.deepEqual(await processor.submit(store), { itemHash: store.item_hash, status: 'processed' });
  });

  it('does not count early wake-ups (other messages processed) as retries', async () => {
    // A clock that never advances: scheduled retries never come due, only wake-ups happen.
    const frozen = new MessageProcessor(stores, ccnConfig({ dataDir: dir, retryBaseMs: 1000, maxRetries: 2 }), silentLogger(), () => 1_700_000_000);
    await processor.stop();
    frozen.start();
    try {
      const alice = EthAccount.generate();
      const store = buildInlineMessage(alice, 'STORE', { item_type: 'storage', item_hash: sha256Hex('never uploaded') }, { time: 1_699_999_000 });
      await frozen.submit(store);
      for (let i = 0; i < 6; i++) {
        const noise = buildInlineMessage(alice, 'POST', { type: 'noise', content: i }, { time: 1_699_999_001 + i });
        await frozen.submit(noise);
        assert.equal(await frozen.waitFor(noise.item_hash, 10_000), 'processed');
      }
      const stored = await row(store.item_hash);
      assert.equal(stored?.status, 'pending');
      assert.equal(stored?.retries, 1);
    } finally {
      await frozen.stop();
    }
  });

  it('answers sync waiters at once when the worker stops', async () => {
    const alice = EthAccount.generate();
    const store = buildInlineMessage(alice, 'STORE', { item_type: 'storage', item_hash: sha256Hex('missing file') });
    await processor.submit(store);
    const waiting = processor.waitFor(store.item_hash, 600_000);
    await processor.stop();
    assert.equal(await waiting, 'pending');
    assert.equal((await row(store.item_hash))?.status, 'pending');
  });
});
