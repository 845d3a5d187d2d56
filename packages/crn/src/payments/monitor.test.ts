/** The gate and the monitor against a fake CCN (JSON answers per path). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { silentLogger } from '@aleph-nodes/service';
import { HttpError } from '@aleph-nodes/service';
import { CcnError } from '../ccn/ccn-client.ts';
import { PaymentChecker, type PaidWorkload } from './checker.ts';
import type { Verdict } from './decisions.ts';
import { PaymentMonitor, type MonitorTarget } from './monitor.ts';

const A = '0x' + 'a'.repeat(40);
const B = '0x' + 'b'.repeat(40);
const RECEIVER = '0x' + 'c'.repeat(40);
const NODE = 'dd'.repeat(32);
const h = (n: number): string => n.toString(16).padStart(64, '0');

/** A CCN whose answers the test changes; `down` makes every read fail as unreachable. */
class FakeCcn {
  down = false;
  requests: string[] = [];
  balances = new Map<string, { balance: number; credit_balance: number }>();
  flows = new Map<string, { chain: string; receiver: string; rate_per_hour: string }[]>();
  statuses = new Map<string, string>();
  prices = new Map<string, { payment_type: string; cost: string }>();

  async getJson(path: string): Promise<unknown> {
    this.requests.push(path);
    if (this.down) throw new CcnError('UNREACHABLE', 'connection refused');
    let m = /^api\/v0\/addresses\/([^/]+)\/balance$/.exec(path);
    if (m) return { address: m[1], balance: 0, credit_balance: 0, locked_amount: 0, details: {}, ...this.balances.get(m[1] as string) };
    m = /^api\/v0\/addresses\/([^/]+)\/flows$/.exec(path);
    if (m) return { address: m[1], outgoing: this.flows.get(m[1] as string) ?? [], incoming: [] };
    m = /^api\/v0\/price\/([0-9a-f]+)$/.exec(path);
    if (m) {
      const p = this.prices.get(m[1] as string);
      if (!p) throw new CcnError('NOT_FOUND', 'no price');
      return { required_tokens: Number(p.cost), payment_type: p.payment_type, cost: p.cost, detail: [], charged_address: A };
    }
    m = /^api\/v0\/messages\/([0-9a-f]+)$/.exec(path);
    if (m) return { status: this.statuses.get(m[1] as string) ?? 'processed', item_hash: m[1] };
    throw new CcnError('NOT_FOUND', path);
  }
}

function checker(ccn: FakeCcn, enforce = true): PaymentChecker {
  return new PaymentChecker(ccn, { enforce, receiver: RECEIVER, nodeHash: NODE, exempt: new Set([h(999)]), priceCacheMs: 60_000, accountCacheMs: 0 }, silentLogger());
}

const hold = (ref: string, owner: string, since: string): PaidWorkload => ({ ref, owner, content: { address: owner, payment: { type: 'hold' } }, since });
const stream = (ref: string, owner: string, since: string, receiver = RECEIVER, node = NODE): PaidWorkload => ({
  ref,
  owner,
  content: { address: owner, payment: { type: 'superfluid', chain: 'ETH', receiver }, requirements: { node: { node_hash: node } } },
  since,
});

class Target implements MonitorTarget {
  stopped: { ref: string; detail: string }[] = [];
  constructor(public live: PaidWorkload[]) {}
  workloads(): PaidWorkload[] {
    return this.live;
  }
  async stopUnpaid(ref: string, _owner: string, verdict: Extract<Verdict, { kind: 'unpaid' }>): Promise<void> {
    this.stopped.push({ ref, detail: verdict.detail });
    this.live = this.live.filter((w) => w.ref !== ref);
  }
}

describe('payment gate', () => {
  it('402 with the reason for an unfunded owner, a start once funded', async () => {
    const ccn = new FakeCcn();
    ccn.prices.set(h(1), { payment_type: 'hold', cost: '200' });
    const c = checker(ccn);
    await assert.rejects(
      c.beforeStart(hold(h(1), A, 't1'), []),
      (err: unknown) => err instanceof HttpError && err.status === 402 && err.code === 'PAYMENT_REQUIRED' && /0 available, 200 required/.test(err.message),
    );
    assert.equal(c.isPaid(h(1)), false);
    ccn.balances.set(A, { balance: 200, credit_balance: 0 });
    assert.equal((await c.beforeStart(hold(h(1), A, 't1'), [])).kind, 'paid');
    assert.equal(c.isPaid(h(1)), true);
  });

  it("counts the owner's other workloads here, not other owners'", async () => {
    const ccn = new FakeCcn();
    for (const n of [1, 2, 3]) ccn.prices.set(h(n), { payment_type: 'hold', cost: '100' });
    ccn.balances.set(A, { balance: 150, credit_balance: 0 });
    const c = checker(ccn);
    await assert.rejects(c.beforeStart(hold(h(2), A, 't2'), [hold(h(1), A, 't1')]), /Payment required/);
    assert.equal((await c.beforeStart(hold(h(3), A, 't3'), [hold(h(1), B, 't1')])).kind, 'paid');
  });

  it('a refusal is repeated for paymentAccountCacheSeconds without asking the CCN again', async () => {
    const ccn = new FakeCcn();
    ccn.prices.set(h(1), { payment_type: 'hold', cost: '200' });
    const c = new PaymentChecker(ccn, { enforce: true, receiver: RECEIVER, nodeHash: NODE, exempt: new Set(), priceCacheMs: 60_000, accountCacheMs: 60_000 }, silentLogger());
    await assert.rejects(c.beforeStart(hold(h(1), A, 't1'), []), /Payment required/);
    const asked = ccn.requests.length;
    for (let i = 0; i < 5; i++) await assert.rejects(c.beforeStart(hold(h(1), A, 't1'), []), /Payment required/);
    assert.equal(ccn.requests.length, asked);
  });

  it('a CCN that does not answer: the start goes on as unpaid (caps), but notify (strict) answers 502', async () => {
    const ccn = new FakeCcn();
    ccn.down = true;
    const c = checker(ccn);
    assert.equal((await c.beforeStart(hold(h(1), A, 't1'), [])).kind, 'unknown');
    assert.equal(c.isPaid(h(1)), false);
    await assert.rejects(c.beforeStart(hold(h(1), A, 't1'), [], { strict: true }), (err: unknown) => err instanceof HttpError && err.status === 502);
  });

  it('pay-as-you-go: 400 for another receiver or node, 402 for a short flow, paid with enough', async () => {
    const ccn = new FakeCcn();
    ccn.prices.set(h(1), { payment_type: 'superfluid', cost: '0.001' });
    const c = checker(ccn);
    await assert.rejects(c.beforeStart(stream(h(1), A, 't', '0x' + '9'.repeat(40)), []), (err: unknown) => err instanceof HttpError && err.code === 'WRONG_RECEIVER');
    await assert.rejects(c.beforeStart(stream(h(1), A, 't', RECEIVER, 'ee'.repeat(32)), []), (err: unknown) => err instanceof HttpError && err.code === 'WRONG_NODE');
    ccn.flows.set(A, [{ chain: 'ETH', receiver: RECEIVER, rate_per_hour: '3' }]);
    await assert.rejects(c.beforeStart(stream(h(1), A, 't'), []), (err: unknown) => err instanceof HttpError && err.status === 402 && /flow_insufficient|streamed/.test(err.message));
    // A flow to someone else does not pay this node.
    ccn.flows.set(A, [{ chain: 'ETH', receiver: '0x' + '9'.repeat(40), rate_per_hour: '100' }, { chain: 'ETH', receiver: RECEIVER, rate_per_hour: '3.6' }]);
    assert.equal((await c.beforeStart(stream(h(1), A, 't'), [])).kind, 'paid');
  });

  it('not enforced, or a diagnostic program: no check, no CCN request', async () => {
    const ccn = new FakeCcn();
    assert.equal((await checker(ccn, false).beforeStart(hold(h(1), A, 't'), [])).kind, 'paid');
    assert.equal((await checker(ccn).beforeStart(hold(h(999), A, 't'), [])).kind, 'paid');
    assert.equal(ccn.requests.length, 0);
    assert.equal(checker(ccn, false).isPaid(h(1)), false);
  });
});

describe('payment monitor', () => {
  it('stops the newest unpaid workload of the short owner after N confirmations; other owners untouched', async () => {
    const ccn = new FakeCcn();
    for (const n of [1, 2, 3]) ccn.prices.set(h(n), { payment_type: 'hold', cost: '100' });
    ccn.balances.set(A, { balance: 200, credit_balance: 0 });
    ccn.balances.set(B, { balance: 100, credit_balance: 0 });
    const target = new Target([hold(h(1), A, 't1'), hold(h(2), A, 't2'), hold(h(3), B, 't1')]);
    const monitor = new PaymentMonitor(checker(ccn), target, { confirmations: 2 }, silentLogger());
    assert.deepEqual((await monitor.pass()).stopped, []);
    ccn.balances.set(A, { balance: 150, credit_balance: 0 });
    const first = await monitor.pass();
    assert.deepEqual([first.stopped, first.unpaid], [[], 1], 'one bad answer is not yet a stop');
    const second = await monitor.pass();
    assert.deepEqual(second.stopped, [h(2)]);
    assert.deepEqual(target.stopped, [{ ref: h(2), detail: 'balance_insufficient' }]);
    assert.deepEqual((await monitor.pass()).stopped, [], 'the older workload and the other owner keep running');
  });

  it('a CCN that stops answering never stops anything, and a paid answer resets the count', async () => {
    const ccn = new FakeCcn();
    ccn.prices.set(h(1), { payment_type: 'hold', cost: '100' });
    const target = new Target([hold(h(1), A, 't1')]);
    const monitor = new PaymentMonitor(checker(ccn), target, { confirmations: 2 }, silentLogger());
    assert.equal((await monitor.pass()).unpaid, 1);
    ccn.down = true;
    for (let i = 0; i < 3; i++) assert.deepEqual(await monitor.pass().then((r) => [r.unknown, r.stopped.length]), [1, 0]);
    ccn.down = false;
    ccn.balances.set(A, { balance: 100, credit_balance: 0 });
    assert.equal((await monitor.pass()).paid, 1);
    ccn.balances.set(A, { balance: 0, credit_balance: 0 });
    assert.deepEqual((await monitor.pass()).stopped, [], 'the count started again');
    assert.deepEqual((await monitor.pass()).stopped, [h(1)]);
  });

  it('removing runs on (reported), removed stops; one status read per workload and one account read per owner', async () => {
    const ccn = new FakeCcn();
    for (const n of [1, 2, 3]) ccn.prices.set(h(n), { payment_type: 'hold', cost: '1' });
    ccn.balances.set(A, { balance: 10, credit_balance: 0 });
    const c = checker(ccn);
    const target = new Target([hold(h(1), A, 't1'), hold(h(2), A, 't2'), hold(h(3), A, 't3')]);
    const monitor = new PaymentMonitor(c, target, { confirmations: 1 }, silentLogger());
    ccn.statuses.set(h(1), 'removing');
    ccn.statuses.set(h(2), 'removed');
    ccn.requests = [];
    const report = await monitor.pass();
    assert.deepEqual(report.stopped, [h(2)]);
    assert.deepEqual(target.stopped, [{ ref: h(2), detail: 'message_removed' }]);
    assert.deepEqual(c.verdict(h(1)), { kind: 'paid', note: 'message_removing' });
    const reads = (re: RegExp): number => ccn.requests.filter((p) => re.test(p)).length;
    assert.equal(reads(/^api\/v0\/messages\//), 3);
    assert.equal(reads(/\/balance$/), 1);
    // Prices are cached across passes.
    ccn.requests = [];
    await monitor.pass();
    assert.equal(reads(/^api\/v0\/price\//), 0);
    // The balance drops: the removing one is in the CCN's grace (a top-up would restore it) and
    // runs on; the processed one is stopped.
    ccn.balances.set(A, { balance: 0, credit_balance: 0 });
    assert.deepEqual((await monitor.pass()).stopped, [h(3)]);
    assert.deepEqual(c.verdict(h(1)), { kind: 'paid', note: 'message_removing' });
    assert.deepEqual(target.live.map((x) => x.ref), [h(1)]);
  });
});
