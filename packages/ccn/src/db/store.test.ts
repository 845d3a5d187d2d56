/** The store layer on both engines: the same queries must give the same answers on SQLite and PostgreSQL. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildInlineMessage, EthAccount, type AlephMessage } from '@aleph-nodes/protocol';
import { ENGINES, openTestStores, type TestStores } from '../testing/engines.ts';
import type { Stores } from '../stores.ts';
import { insertProcessed as insertProcessedInto } from '../testing/processed.ts';

for (const engine of ENGINES) describe(`store layer (${engine})`, () => {
  let test: TestStores;
  let stores: Stores;
  const alice = EthAccount.generate();
  const bob = EthAccount.generate();
  const posts: AlephMessage[] = [];

  const insertProcessed = (m: AlephMessage, extra: { tags?: string[]; refs?: string[] } = {}): Promise<void> => insertProcessedInto(stores, m, extra);

  before(async () => {
    test = await openTestStores(engine);
    stores = test.stores;
    for (let i = 0; i < 6; i++) {
      const m = buildInlineMessage(i < 4 ? alice : bob, 'POST', { type: i % 2 ? 'odd' : 'even', content: { i } }, { channel: 'S', time: 1000 + i });
      posts.push(m);
      await insertProcessed(m, { tags: [`t${i}`, 'all'] });
    }
    // One pending message: not listed with the default statuses.
    await stores.messages.insertPending(buildInlineMessage(alice, 'POST', { type: 'even', content: 'pending' }, { time: 2000 }), {}, 1000);
  });
  after(async () => {
    await test?.dispose();
  });

  it('filters, counts and pages messages', async () => {
    const processed = { statuses: ['processed' as const] };
    assert.equal(await stores.messages.count(processed), 6);
    assert.equal(await stores.messages.count({ ...processed, senders: [alice.address.toUpperCase().replace('0X', '0x')] }), 4);
    assert.equal(await stores.messages.count({ ...processed, owners: [bob.address] }), 2);
    assert.equal(await stores.messages.count({ ...processed, contentTypes: ['odd'] }), 3);
    assert.equal(await stores.messages.count({ ...processed, tags: ['t1', 't2'] }), 2);
    assert.equal(await stores.messages.count({ ...processed, startDate: 1001, endDate: 1003 }), 2);
    assert.equal(await stores.messages.count({ statuses: ['pending'] }), 1);
    const page2 = await stores.messages.list(processed, { perPage: 2, page: 2, sortOrder: -1 });
    assert.deepEqual(page2.map((r) => r.item_hash), [posts[3]?.item_hash, posts[2]?.item_hash]);
    const all = await stores.messages.list(processed, { perPage: 0, page: 1, sortOrder: 1 });
    assert.deepEqual(all.map((r) => r.item_hash), posts.map((p) => p.item_hash));
  });

  it('pages with a cursor', async () => {
    const seen: string[] = [];
    let after: { time: number; hash: string } | undefined;
    for (;;) {
      const rows = await stores.messages.listAfter({ statuses: ['processed'] }, 4, -1, after);
      seen.push(...rows.map((r) => r.item_hash));
      const last = rows[rows.length - 1];
      if (rows.length < 4 || !last) break;
      after = { time: last.time, hash: last.item_hash };
    }
    assert.deepEqual(seen, [...posts].reverse().map((p) => p.item_hash));
  });

  it('orders posts by their latest amend', async () => {
    const original = posts[0] as AlephMessage;
    const amend = buildInlineMessage(alice, 'POST', { type: 'amend', ref: original.item_hash, content: { amended: true } }, { time: 5000 });
    await insertProcessed(amend);
    await stores.messages.setPostLatest(original.item_hash, amend.item_hash, amend.time);
    const { rows, total } = await stores.messages.listPosts({}, { perPage: 10, page: 1, sortOrder: -1 });
    assert.equal(total, 6);
    assert.equal(rows[0]?.item_hash, original.item_hash);
    assert.deepEqual((await stores.messages.amendsOf(original.item_hash)).map((r) => r.item_hash), [amend.item_hash]);
    const recent = await stores.messages.listPosts({ startDate: 4000 }, { perPage: 10, page: 1, sortOrder: -1 });
    assert.deepEqual(recent.rows.map((r) => r.item_hash), [original.item_hash]);
  });

  it('tracks executables by the STOREs they use', async () => {
    const storeHash = 'd'.repeat(64);
    const program = buildInlineMessage(bob, 'PROGRAM', { type: 'vm-function', stand_in: true }, { time: 1100 });
    const post = buildInlineMessage(bob, 'POST', { type: 'not-an-executable', content: 1 }, { time: 1101 });
    await insertProcessed(program, { refs: [storeHash] });
    await insertProcessed(post, { refs: [storeHash] });
    assert.deepEqual((await stores.messages.executablesUsing(storeHash)).map((r) => r.item_hash), [program.item_hash]);
    await stores.messages.markForgotten(program.item_hash, 'e'.repeat(64));
    assert.deepEqual(await stores.messages.executablesUsing(storeHash), []);
    const forgotten = await stores.messages.get(program.item_hash);
    assert.equal(forgotten?.status, 'forgotten');
    assert.equal(forgotten?.content, null);
    assert.deepEqual(JSON.parse(forgotten?.forgotten_by ?? '[]'), ['e'.repeat(64)]);
  });

  it('merges aggregates in time order and forgets elements', async () => {
    await stores.aggregates.insert('a'.repeat(64), alice.address, 'prefs', 2, { b: 2, c: { x: 1 } });
    await stores.aggregates.insert('b'.repeat(64), alice.address, 'prefs', 1, { a: 1, b: 1 });
    await stores.aggregates.insert('c'.repeat(64), alice.address, 'other', 3, { z: 1 });
    const [prefs] = await stores.aggregates.values(alice.address.toLowerCase(), ['prefs']);
    assert.deepEqual(prefs?.value, { a: 1, b: 2, c: { x: 1 } });
    assert.equal(prefs?.originalItemHash, 'b'.repeat(64));
    assert.deepEqual((await stores.aggregates.values(alice.address)).map((v) => v.key), ['other', 'prefs']);
    await stores.aggregates.delete('a'.repeat(64));
    assert.deepEqual((await stores.aggregates.values(alice.address, ['prefs']))[0]?.value, { a: 1, b: 1 });
    assert.deepEqual((await stores.aggregates.ownersPage({ keys: ['other'] }, -1, 0, 10)).map((o) => o.owner), [alice.address.toLowerCase()]);
    assert.deepEqual((await stores.aggregates.values(alice.address, [], 1)).map((v) => v.key), ['other']);
  });

  it('pages aggregate owners in SQL, in list order', async () => {
    const a = alice.address.toLowerCase();
    const b = bob.address.toLowerCase();
    await stores.aggregates.insert('1'.repeat(64), a, 'k', 10, { x: 1 });
    await stores.aggregates.insert('2'.repeat(64), b, 'k', 20, { y: 1 });
    await stores.aggregates.insert('3'.repeat(64), b, 'j', 5, { z: 1 });
    assert.deepEqual(await stores.aggregates.ownersPage({ keys: [] }, -1, 0, 10), [
      { owner: b, lastUpdated: 20 },
      { owner: a, lastUpdated: 10 },
    ]);
    assert.deepEqual((await stores.aggregates.ownersPage({ keys: [] }, 1, 1, 1)).map((o) => o.owner), [b]);
    assert.deepEqual((await stores.aggregates.ownersPage({ keys: ['j'] }, 1, 0, 10)).map((o) => [o.owner, o.lastUpdated]), [[b, 5]]);
    assert.equal(await stores.aggregates.countOwners({ keys: [] }), 2);
    assert.equal(await stores.aggregates.countOwners({ keys: [], addresses: [a], exclude: undefined }), 1);
    assert.equal(await stores.aggregates.countOwners({ keys: [], exclude: b }), 1);
    assert.equal(await stores.aggregates.countOwnersBefore({ keys: [] }, { owner: '0x', lastUpdated: 15 }, -1), 1);
    assert.equal(await stores.aggregates.countOwnersBefore({ keys: [] }, { owner: '0x', lastUpdated: 15 }, 1), 1);
    assert.equal(await stores.aggregates.countOwnersBefore({ keys: [] }, { owner: 'zz', lastUpdated: 10 }, 1), 1);
    const values = await stores.aggregates.valuesOfOwners([a, b], ['k']);
    assert.deepEqual(values.get(b)?.map((v) => v.value), [{ y: 1 }]);
    assert.deepEqual(values.get(a)?.map((v) => v.value), [{ x: 1 }]);
  });

  it('keeps the newest balance report per address and chain', async () => {
    await stores.balances.apply('a'.repeat(64), 1000, 'ETH', '', 10, { [alice.address]: 100 });
    await stores.balances.apply('b'.repeat(64), 1001, 'ETH', '', 5, { [alice.address]: 1 });
    await stores.balances.apply('c'.repeat(64), 1002, 'AVAX', '', 1, { [alice.address]: 50, [bob.address]: 7 });
    assert.deepEqual(await stores.balances.of(alice.address), { total: 150, byChain: { ETH: 100, AVAX: 50 } });
    const { rows, total } = await stores.balances.list({ chains: [], minBalance: 10, perPage: 10, page: 1 });
    assert.equal(total, 2);
    assert.deepEqual(rows.map((r) => r.balance), [100, 50]);
  });

  it('applies a report whose height passes 2^31 (a 32-bit column refused it on PostgreSQL), up to 2^53', async () => {
    const carol = EthAccount.generate();
    await stores.balances.apply('d'.repeat(64), 1003, 'SOL', '', 2 ** 40, { [carol.address]: 3 });
    await stores.balances.apply('e'.repeat(64), 1004, 'SOL', '', Number.MAX_SAFE_INTEGER, { [carol.address]: 4 });
    await stores.balances.apply('f'.repeat(64), 1005, 'SOL', '', 2 ** 41, { [carol.address]: 5 });
    assert.deepEqual(await stores.balances.of(carol.address), { total: 4, byChain: { SOL: 4 } });
  });

  it('pins and releases files, and finds expired unpinned ones', async () => {
    await stores.files.upsert('f'.repeat(64), 'storage', 10, 1, 100);
    await stores.files.upsert('f'.repeat(64), 'storage', 10, 2, 50);
    assert.equal((await stores.files.get('f'.repeat(64)))?.grace_until, 100);
    await stores.files.pin('f'.repeat(64), 'x'.repeat(64));
    await stores.files.pin('f'.repeat(64), 'x'.repeat(64));
    assert.equal(await stores.files.pinCount('f'.repeat(64)), 1);
    assert.deepEqual(await stores.files.expiredUnpinned(200), []);
    await stores.files.unpin('f'.repeat(64), 'x'.repeat(64));
    assert.deepEqual((await stores.files.expiredUnpinned(200)).map((f) => f.hash), ['f'.repeat(64)]);
  });

  it('rolls a transaction back entirely on failure', async () => {
    const m = buildInlineMessage(alice, 'POST', { type: 'tx', content: 1 });
    await assert.rejects(
      stores.transaction(async (repos) => {
        await repos.messages.insertPending(m, m, 1);
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.equal(await stores.messages.get(m.item_hash), undefined);
  });
});
