/**
 * The order-independence rules, one worked case each: the same messages fed
 * in two (or more) orders end in the same state (testing/state-digest.ts), and that state is the
 * one the rule says. SQLite in memory; the property test (convergence.fuzz.test.ts) mixes them.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { ALEPH_ERROR, buildInlineMessage, EthAccount, sha256Hex, type AlephMessage } from '@aleph-nodes/protocol';
import { feed, openOrderNode, quiesce, receiveFile, type Arrival, type OrderNode } from '../testing/order-harness.ts';
import { stateDifferences, stateDigest } from '../testing/state-digest.ts';

const T = 1_700_000_000;
const alice = EthAccount.generate();
const delegate = EthAccount.generate();
const indexer = EthAccount.generate();
const nodes: OrderNode[] = [];

afterEach(async () => {
  for (const n of nodes.splice(0)) await n.dispose();
});

const msg = (m: AlephMessage): Arrival => ({ kind: 'message', message: m });
const settle: Arrival = { kind: 'settle' };
/** Time passes: every retry of what waits is used up. */
const later: Arrival[] = [{ kind: 'pause' }, { kind: 'pause' }, { kind: 'pause' }, { kind: 'pause' }];
const file = (bytes: Uint8Array): Arrival => ({ kind: 'file', hash: sha256Hex(bytes), bytes });

/** Feeds each order to a fresh node; asserts they all end in the same state; returns the nodes. */
async function converge(...orders: Arrival[][]): Promise<OrderNode[]> {
  const out: OrderNode[] = [];
  const digests = [];
  for (const order of orders) {
    const node = await openOrderNode('sqlite', T + 100, { balanceIndexers: [indexer.address] });
    nodes.push(node);
    out.push(node);
    await feed(node, order);
    await quiesce(node);
    digests.push(await stateDigest(node.stores, { registry: { balanceIndexers: [indexer.address], tag: '' } }));
  }
  const first = digests[0];
  for (const d of digests.slice(1)) assert.equal(d?.digest, first?.digest, stateDifferences(first?.state ?? {}, d?.state ?? {}).join('\n'));
  return out;
}

const status = async (node: OrderNode, hash: string): Promise<string | undefined> => (await node.stores.messages.get(hash))?.status;
const row = (node: OrderNode, hash: string) => node.stores.messages.get(hash);

describe('order independence: worked cases', () => {
  it('aggregates: elements fold by (content time, item_hash); a late older element refolds', async () => {
    const a = buildInlineMessage(alice, 'AGGREGATE', { key: 'k', content: { x: 'a', a: 1 } }, { time: T + 1 });
    const b = buildInlineMessage(alice, 'AGGREGATE', { key: 'k', content: { x: 'b', b: 1 } }, { time: T + 1 });
    const c = buildInlineMessage(alice, 'AGGREGATE', { key: 'k', content: { x: 'c' } }, { time: T + 2 });
    const [n] = await converge([msg(a), msg(b), msg(c)], [msg(c), settle, msg(b), settle, msg(a)], [msg(b), msg(c), settle, msg(a)]);
    const [first, second] = a.item_hash < b.item_hash ? ['a', 'b'] : ['b', 'a'];
    const value = (await n?.stores.aggregates.values(alice.address, ['k']))?.[0];
    // Equal times: the greater hash is merged last (pyaleph leaves the tie to the database).
    assert.deepEqual(value?.value, { x: 'c', a: 1, b: 1 });
    assert.equal(value?.originalItemHash, first === 'a' ? a.item_hash : b.item_hash);
    assert.equal(value?.lastUpdateItemHash, c.item_hash);
    assert.ok(second);
  });

  it('amends: the latest by (content time, item_hash) wins; a late older amend does not', async () => {
    const post = buildInlineMessage(alice, 'POST', { type: 'note', content: 0 }, { time: T + 1 });
    const amends = [3, 3, 2].map((dt, i) => buildInlineMessage(alice, 'POST', { type: 'amend', ref: post.item_hash, content: i }, { time: T + dt }));
    const [a1, a2, old] = amends as [AlephMessage, AlephMessage, AlephMessage];
    const [n] = await converge([msg(post), msg(a1), msg(a2), msg(old)], [msg(old), msg(a2), msg(a1), settle, msg(post)], [msg(post), settle, msg(a2), settle, msg(a1), settle, msg(old)]);
    const winner = a1.item_hash > a2.item_hash ? a1 : a2;
    assert.equal((await row(n as OrderNode, post.item_hash))?.post_last_amend, winner.item_hash);
  });

  it('an amend that arrives long before its post waits, is rejected after its retries, and is processed when the post arrives', async () => {
    const post = buildInlineMessage(alice, 'POST', { type: 'note', content: 0 }, { time: T + 1 });
    const amend = buildInlineMessage(alice, 'POST', { type: 'amend', ref: post.item_hash, content: 1 }, { time: T + 2 });
    const node = await openOrderNode('sqlite', T + 100);
    nodes.push(node);
    await feed(node, [msg(amend), ...later]);
    const waiting = await row(node, amend.item_hash);
    assert.equal(waiting?.status, 'rejected');
    assert.equal(waiting?.error_code, ALEPH_ERROR.AMEND_TARGET_NOT_FOUND);
    assert.equal(waiting?.waiting_for, post.item_hash);
    await feed(node, [msg(post), settle]);
    assert.equal(await status(node, amend.item_hash), 'processed');
    await converge([msg(post), msg(amend)], [msg(amend), ...later, msg(post)]);
  });

  it('a STORE whose file comes after its retries is processed when the file arrives (no resubmission)', async () => {
    const bytes = new TextEncoder().encode(`late file ${alice.address}`);
    const store = buildInlineMessage(alice, 'STORE', { item_type: 'storage', item_hash: sha256Hex(bytes) }, { time: T + 1 });
    const node = await openOrderNode('sqlite', T + 100);
    nodes.push(node);
    await feed(node, [msg(store), ...later]);
    assert.equal(await status(node, store.item_hash), 'rejected');
    await receiveFile(node, sha256Hex(bytes), bytes);
    await node.processor.settle();
    assert.equal(await status(node, store.item_hash), 'processed');
    await converge([file(bytes), msg(store)], [msg(store), ...later, file(bytes)]);
  });

  it('FORGET before its target: it waits, is rejected after its retries, and forgets the target when it arrives', async () => {
    const post = buildInlineMessage(alice, 'POST', { type: 'note', content: 0 }, { time: T + 1 });
    const forget = buildInlineMessage(alice, 'FORGET', { hashes: [post.item_hash] }, { time: T + 2 });
    const [, n] = await converge([msg(post), msg(forget)], [msg(forget), ...later, msg(post)]);
    const target = await row(n as OrderNode, post.item_hash);
    assert.equal(target?.status, 'forgotten');
    assert.deepEqual(JSON.parse(target?.forgotten_by ?? '[]'), [forget.item_hash]);
    assert.equal(await status(n as OrderNode, forget.item_hash), 'processed');
  });

  it('two FORGETs of one message: forgotten_by lists both, sorted, whatever their order', async () => {
    const post = buildInlineMessage(alice, 'POST', { type: 'note', content: 0 }, { time: T + 1 });
    const amend = buildInlineMessage(alice, 'POST', { type: 'amend', ref: post.item_hash, content: 1 }, { time: T + 2 });
    const f1 = buildInlineMessage(alice, 'FORGET', { hashes: [post.item_hash] }, { time: T + 3 });
    const f2 = buildInlineMessage(alice, 'FORGET', { hashes: [post.item_hash] }, { time: T + 4 });
    const [n] = await converge([msg(post), msg(amend), msg(f1), msg(f2)], [msg(post), settle, msg(f2), settle, msg(f1), settle, msg(amend)], [msg(f1), msg(f2), msg(amend), msg(post)]);
    const expected = [f1.item_hash, f2.item_hash].sort();
    // The amend of a forgotten post is forgotten with it, by the same FORGETs.
    for (const hash of [post.item_hash, amend.item_hash]) assert.deepEqual(JSON.parse((await row(n as OrderNode, hash))?.forgotten_by ?? '[]'), expected);
  });

  it('FORGET of an aggregate key forgets the elements before it; a late older element is forgotten on arrival, a newer one stays', async () => {
    const e1 = buildInlineMessage(alice, 'AGGREGATE', { key: 'k', content: { a: 1 } }, { time: T + 1 });
    const forget = buildInlineMessage(alice, 'FORGET', { hashes: [], aggregates: ['k'] }, { time: T + 2 });
    const late = buildInlineMessage(alice, 'AGGREGATE', { key: 'k', content: { b: 1 } }, { time: T + 1.5 });
    const newer = buildInlineMessage(alice, 'AGGREGATE', { key: 'k', content: { c: 1 } }, { time: T + 3 });
    const [n] = await converge([msg(e1), msg(late), msg(forget), msg(newer)], [msg(e1), msg(newer), settle, msg(forget), settle, msg(late)], [msg(newer), msg(forget), ...later, msg(late), msg(e1)]);
    assert.equal(await status(n as OrderNode, late.item_hash), 'forgotten');
    assert.deepEqual((await n?.stores.aggregates.values(alice.address, ['k']))?.[0]?.value, { c: 1 });
  });

  it('503 by the total order: an executable before the FORGET of its STORE wins, also when it arrives after it', async () => {
    const bytes = new TextEncoder().encode(`runtime ${alice.address}`);
    const store = buildInlineMessage(alice, 'STORE', { item_type: 'storage', item_hash: sha256Hex(bytes) }, { time: T + 1 });
    const program = (t: number): AlephMessage =>
      buildInlineMessage(
        alice,
        'PROGRAM',
        {
          type: 'vm-function',
          allow_amend: false,
          on: { http: true },
          runtime: { ref: store.item_hash, use_latest: true, comment: '' },
          code: { encoding: 'zip', entrypoint: 'main:app', ref: store.item_hash, use_latest: false },
        },
        { time: t },
      );
    const forget = buildInlineMessage(alice, 'FORGET', { hashes: [store.item_hash] }, { time: T + 3 });
    const before = program(T + 2);
    const [n] = await converge([file(bytes), msg(store), msg(before), msg(forget)], [file(bytes), msg(store), settle, msg(forget), settle, msg(before)]);
    assert.equal(await status(n as OrderNode, before.item_hash), 'processed');
    assert.equal((await row(n as OrderNode, forget.item_hash))?.error_code, ALEPH_ERROR.FORGET_NOT_ALLOWED);
    assert.equal(await n?.stores.files.pinCount(sha256Hex(bytes)), 1);

    const after = program(T + 4);
    const [m] = await converge([file(bytes), msg(store), msg(forget), msg(after)], [file(bytes), msg(store), settle, msg(after), settle, msg(forget)]);
    assert.equal(await status(m as OrderNode, forget.item_hash), 'processed');
    assert.equal((await row(m as OrderNode, after.item_hash))?.status, 'rejected');
  });

  it("a delegate's message is judged on the security aggregate as of its own time: late grants and revocations", async () => {
    const grant = buildInlineMessage(alice, 'AGGREGATE', { key: 'security', content: { authorizations: [{ address: delegate.address, types: ['POST'] }] } }, { time: T + 1 });
    const post = buildInlineMessage(delegate, 'POST', { type: 'blog', content: 1 }, { time: T + 2, address: alice.address });
    const revoke = buildInlineMessage(alice, 'AGGREGATE', { key: 'security', content: { authorizations: [] } }, { time: T + 3 });
    const early = buildInlineMessage(alice, 'AGGREGATE', { key: 'security', content: { authorizations: [] } }, { time: T + 1.5 });
    // A grant that arrives after the post: the refusal is evaluated again.
    const [n] = await converge([msg(grant), msg(post), msg(revoke)], [msg(post), settle, msg(revoke), settle, msg(grant)]);
    assert.equal(await status(n as OrderNode, post.item_hash), 'processed');
    // A revocation older than the post that arrives after it: the post is evaluated again.
    const [m] = await converge([msg(grant), msg(early), msg(post)], [msg(grant), msg(post), settle, msg(early)]);
    assert.equal((await row(m as OrderNode, post.item_hash))?.error_code, ALEPH_ERROR.PERMISSION_DENIED);
  });

  it('a FORGET of a message refused at the time forgets it on arrival once a late grant makes it valid', async () => {
    const grant = buildInlineMessage(alice, 'AGGREGATE', { key: 'security', content: { authorizations: [{ address: delegate.address, types: ['POST'] }] } }, { time: T + 1 });
    const post = buildInlineMessage(delegate, 'POST', { type: 'blog', content: 1 }, { time: T + 2, address: alice.address });
    const forget = buildInlineMessage(alice, 'FORGET', { hashes: [post.item_hash] }, { time: T + 3 });
    const [n] = await converge([msg(grant), msg(post), msg(forget)], [msg(post), settle, msg(forget), settle, msg(grant)]);
    assert.equal(await status(n as OrderNode, post.item_hash), 'forgotten');
  });

  it('balances: the report with the greatest (height, time, item_hash) is in effect; forgetting it brings the previous back', async () => {
    const report = (height: number, t: number, amount: number): AlephMessage =>
      buildInlineMessage(indexer, 'POST', { type: 'balances-update', content: { chain: 'ETH', main_height: height, balances: { [alice.address]: amount } } }, { time: T + t });
    const high = report(5, 1, 100);
    const tieA = report(5, 2, 200);
    const tieB = report(5, 2, 300);
    const stale = report(4, 9, 400);
    const [n] = await converge([msg(high), msg(tieA), msg(tieB), msg(stale)], [msg(stale), msg(tieB), settle, msg(tieA), settle, msg(high)]);
    const winner = tieA.item_hash > tieB.item_hash ? 200 : 300;
    assert.equal((await n?.stores.balances.of(alice.address))?.total, winner);
    const forget = buildInlineMessage(indexer, 'FORGET', { hashes: [tieA.item_hash, tieB.item_hash] }, { time: T + 10 });
    const [m] = await converge([msg(high), msg(tieA), msg(tieB), msg(stale), msg(forget)], [msg(forget), msg(stale), msg(tieB), msg(tieA), ...later, msg(high)]);
    assert.equal((await m?.stores.balances.of(alice.address))?.total, 100);
  });
});
