/**
 * A hold STORE whose owner stops paying: `removing`, then `removed` after the grace, its file
 * unpinned so that the node's garbage collection deletes it (pyaleph: the file's pin gets a
 * grace period). STOREs up to the unauthenticated upload size are free (pyaleph): this node's limit
 * is set to 16 bytes so that a small file is charged.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildInlineMessage, EthAccount, sha256Hex } from '@aleph-nodes/protocol';
import type { OrderNode } from '../testing/order-harness.ts';
import { receiveFile } from '../testing/order-harness.ts';
import { balancesPost, NOW, openPaymentNode, submit } from './fixtures.test-support.ts';
import { runPaymentJob } from './job.ts';

describe('payments: a hold STORE that stops being paid', () => {
  const oracle = EthAccount.generate();
  const alice = EthAccount.generate();
  let node: OrderNode;
  let now = NOW;
  const tick = (s: number) => {
    now += s;
    node.advance(s);
  };

  before(async () => {
    node = await openPaymentNode('sqlite', oracle, { maxAnonymousUploadBytes: 16 });
  });
  after(async () => {
    await node.dispose();
  });

  it('is refused unfunded, processed funded, removed after the grace with its file released', async () => {
    const bytes = new TextEncoder().encode('a file larger than sixteen bytes, charged by hold');
    const hash = sha256Hex(bytes);
    await receiveFile(node, hash, bytes);
    const unfunded = buildInlineMessage(alice, 'STORE', { item_type: 'storage', item_hash: hash }, { time: now });
    assert.equal(await submit(node, unfunded), 'rejected');

    tick(1);
    assert.equal(await submit(node, balancesPost(oracle, { [alice.address]: 1000 }, now, 1)), 'processed');
    const store = buildInlineMessage(alice, 'STORE', { item_type: 'storage', item_hash: hash, ref: 'v2' }, { time: now + 0.5 });
    assert.equal(await submit(node, store), 'processed');
    assert.ok((await node.stores.payments.lockedAmount(alice.address)).gt(0));
    assert.equal(await node.stores.files.pinCount(hash), 1);

    tick(1);
    assert.equal(await submit(node, balancesPost(oracle, { [alice.address]: 0 }, now, 2)), 'processed');
    tick(10);
    assert.deepEqual((await runPaymentJob(node.stores, node.config, now)).removing, [store.item_hash]);
    // Still held through the grace.
    assert.equal(await node.stores.files.pinCount(hash), 1);
    tick(40);
    assert.deepEqual((await runPaymentJob(node.stores, node.config, now)).removed, [store.item_hash]);
    assert.equal(await node.stores.files.pinCount(hash), 0);
    const collectable = await node.stores.files.expiredUnpinned(now + 1);
    assert.ok(collectable.some((f) => f.hash === hash), 'the garbage collection takes the file');
  });
});
