/**
 * The payment lifecycle on a real in-process CCN (processor, handlers, database: SQLite and
 * PostgreSQL): refusals at processing, the periodic job's cost-order removal, top-up during the
 * grace, removal after it, credit consumption and exhaustion, and oracle keys.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ALEPH_ERROR, EthAccount } from '@aleph-nodes/protocol';
import { ENGINES } from '../testing/engines.ts';
import type { OrderNode } from '../testing/order-harness.ts';
import { balancesPost, codeStores, creditsPost, flowsPost, NOW, openPaymentNode, program, submit } from './fixtures.test-support.ts';
import { runPaymentJob } from './job.ts';

for (const engine of ENGINES) {
  describe(`payments (${engine})`, () => {
    const oracle = EthAccount.generate();
    const alice = EthAccount.generate();
    const bob = EthAccount.generate();
    const stranger = EthAccount.generate();
    let node: OrderNode;
    let now = NOW;
    const job = () => runPaymentJob(node.stores, node.config, now);
    const status = async (h: string) => (await node.stores.messages.get(h))?.status;
    let height = 1;
    const tick = (seconds: number) => {
      now += seconds;
      node.advance(seconds);
    };
    const setBalance = async (who: EthAccount, amount: number | string) => {
      tick(1);
      assert.equal(await submit(node, balancesPost(oracle, { [who.address]: amount }, now, height++)), 'processed');
    };

    before(async () => {
      node = await openPaymentNode(engine, oracle);
    });
    after(async () => {
      await node.dispose();
    });

    it('refuses an unfunded hold program with BALANCE_INSUFFICIENT and pyaleph details', async () => {
      const refs = await codeStores(node, alice, now);
      const p = program(alice, refs, now);
      assert.equal(await submit(node, p), 'rejected');
      const row = await node.stores.messages.get(p.item_hash);
      assert.equal(row?.error_code, ALEPH_ERROR.BALANCE_INSUFFICIENT);
      const details = JSON.parse(row?.error_details ?? '{}') as { errors: { required_balance: string; account_balance: string }[] };
      assert.equal(details.errors[0]?.account_balance, '0');
      assert.ok(Number(details.errors[0]?.required_balance) > 0);
    });

    it('a balance post from a key that is not an oracle has no effect', async () => {
      assert.equal(await submit(node, balancesPost(stranger, { [alice.address]: 1e9 }, now + 0.5)), 'processed');
      assert.equal((await node.stores.balances.of(alice.address)).total, 0);
    });

    it('an oracle post with a negative, huge or non-numeric amount is refused with the reason, nothing applied', async () => {
      for (const bad of [-5, '1e99', 'lots', 1e20]) {
        const post = balancesPost(oracle, { [alice.address]: bad }, now + 0.7);
        assert.equal(await submit(node, post), 'rejected', String(bad));
        assert.match((await node.stores.messages.get(post.item_hash))?.error_details ?? '', /amount/);
      }
      assert.equal((await node.stores.balances.of(alice.address)).total, 0);
    });

    it('processes funded programs, then removes the newest first when the balance drops, restores on top-up, removes after the grace', async () => {
      await setBalance(alice, 1_000_000);
      const refs = await codeStores(node, alice, now);
      const first = program(alice, refs, now + 0.1);
      const second = program(alice, refs, now + 0.2);
      assert.equal(await submit(node, first), 'processed');
      assert.equal(await submit(node, second), 'processed');
      const bobRefs = await codeStores(node, bob, now);
      await setBalance(bob, 1_000_000);
      const bobs = program(bob, bobRefs, now + 0.3);
      assert.equal(await submit(node, bobs), 'processed');
      const each = Number((await node.stores.payments.costOf(first.item_hash))?.hold);
      assert.ok(each > 0);
      assert.equal((await node.stores.payments.lockedAmount(alice.address)).toNumber(), each * 2);

      // Enough for one program: the newer goes removing, the older stays.
      await setBalance(alice, each * 1.5);
      tick(10);
      const r1 = await job();
      assert.deepEqual(r1.removing, [second.item_hash]);
      assert.equal(await status(first.item_hash), 'processed');
      assert.equal(await status(second.item_hash), 'removing');
      const removal = await node.stores.payments.removal(second.item_hash);
      assert.equal(removal?.reason, 'balance_insufficient');
      assert.equal(removal?.removing_at, r1.boundary + 30);

      // Top-up within the grace: back to processed.
      await setBalance(alice, each * 3);
      tick(10);
      assert.deepEqual((await job()).restored, [second.item_hash]);
      assert.equal(await status(second.item_hash), 'processed');
      assert.equal(await node.stores.payments.removal(second.item_hash), undefined);

      // Dropped to zero: both removing, then removed once the grace is over.
      await setBalance(alice, 0);
      tick(10);
      const r3 = await job();
      assert.deepEqual(new Set(r3.removing), new Set([first.item_hash, second.item_hash]));
      // Through the grace a removing workload stays in what the scheduler places.
      const placed = async () => (await node.stores.allocations.processedExecutables()).map((r) => r.item_hash);
      assert.ok((await placed()).includes(first.item_hash));
      tick(20);
      assert.deepEqual((await job()).removed, []);
      tick(10);
      assert.deepEqual(new Set((await job()).removed), new Set([first.item_hash, second.item_hash]));
      assert.equal(await status(first.item_hash), 'removed');
      // Removed: no longer placed, so its CRN is pushed a set without it.
      assert.ok(!(await placed()).includes(first.item_hash));
      assert.ok((await placed()).includes(bobs.item_hash));
      assert.equal((await node.stores.payments.removal(first.item_hash))?.removed_at, r3.boundary + 30);
      // Another owner's program was never touched.
      assert.equal(await status(bobs.item_hash), 'processed');
      // A top-up after removal brings nothing back (pyaleph: removed is final).
      await setBalance(alice, 1_000_000);
      tick(10);
      await job();
      assert.equal(await status(first.item_hash), 'removed');
    });

    it('credits: refused without a day of runway, consumed per period, removing at zero', async () => {
      const carol = EthAccount.generate();
      const refs = await codeStores(node, carol, now);
      const p = program(carol, refs, now + 0.1, 'credit');
      assert.equal(await submit(node, p), 'rejected');
      const row = await node.stores.messages.get(p.item_hash);
      assert.equal(row?.error_code, ALEPH_ERROR.CREDIT_INSUFFICIENT);
      assert.equal((JSON.parse(row?.error_details ?? '{}') as { errors: { min_runtime_days: number }[] }).errors[0]?.min_runtime_days, 1);

      const perSecond = await (async () => {
        // Price it through a funded twin: the cost is recorded at processing.
        tick(1);
        assert.equal(await submit(node, creditsPost(oracle, carol.address, 1_000_000_000, now)), 'processed');
        const q = program(carol, refs, now + 0.2, 'credit');
        assert.equal(await submit(node, q), 'processed');
        return { hash: q.item_hash, rate: Number((await node.stores.payments.costOf(q.item_hash))?.credit_per_second) };
      })();
      assert.ok(perSecond.rate > 0);
      tick(25);
      await job();
      const consumed = (await node.stores.payments.lastConsumption(perSecond.hash))?.cumulative ?? 0;
      assert.ok(consumed > 0, 'credits consumed');
      const balance = await node.stores.payments.creditBalance(carol.address, now);
      assert.equal(balance, 1_000_000_000 - consumed);
      // An oracle expense takes the rest: at zero the program goes removing.
      tick(1);
      const expense = {
        type: 'aleph_credit_expense',
        content: { expense: { credits: [{ address: carol.address, amount: 1_000_000_000 }] } },
      };
      const { buildInlineMessage } = await import('@aleph-nodes/protocol');
      assert.equal(await submit(node, buildInlineMessage(oracle, 'POST', expense, { time: now, channel: 'ALEPH_CREDIT' })), 'processed');
      assert.equal(await node.stores.payments.creditBalance(carol.address, now + 1), 0);
      tick(10);
      const r = await job();
      assert.deepEqual(r.removing, [perSecond.hash]);
      assert.equal((await node.stores.payments.removal(perSecond.hash))?.reason, 'credit_insufficient');
    });

    it('flows: the latest report per (chain, sender, receiver) wins, "0" ends it', async () => {
      const crn = EthAccount.generate();
      tick(1);
      assert.equal(await submit(node, flowsPost(oracle, [{ sender: alice.address, receiver: crn.address, rate_per_hour: '2.5' }], now)), 'processed');
      let flows = await node.stores.payments.currentFlows(crn.address);
      assert.deepEqual(
        flows.map((f) => [f.sender, f.rate_per_hour]),
        [[alice.address.toLowerCase(), '2.5']],
      );
      // An older report arriving late does not win.
      assert.equal(await submit(node, flowsPost(oracle, [{ sender: alice.address, receiver: crn.address, rate_per_hour: '9' }], now - 5)), 'processed');
      flows = await node.stores.payments.currentFlows(crn.address);
      assert.equal(flows[0]?.rate_per_hour, '2.5');
      tick(1);
      assert.equal(await submit(node, flowsPost(oracle, [{ sender: alice.address, receiver: crn.address, rate_per_hour: '0' }], now)), 'processed');
      assert.deepEqual(await node.stores.payments.currentFlows(crn.address), []);
      // A stranger's flow post changes nothing.
      assert.equal(await submit(node, flowsPost(stranger, [{ sender: alice.address, receiver: crn.address, rate_per_hour: '5' }], now + 0.5)), 'processed');
      assert.deepEqual(await node.stores.payments.currentFlows(crn.address), []);
    });
  });
}
