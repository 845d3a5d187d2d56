import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Dec } from '@aleph-nodes/protocol';
import { ownerVerdicts, paygPlacementFailure, statusVerdict, type AccountState, type PaymentType, type WorkloadPayment } from './decisions.ts';

const account = (balance: string, credits: string, flows: Record<string, string> = {}): AccountState => ({
  balance: new Dec(balance),
  creditBalance: new Dec(credits),
  flowPerHour: (chain) => Object.entries(flows).filter(([c]) => chain === undefined || c === chain).reduce((s, [, r]) => s.plus(r), new Dec(0)),
});
const w = (ref: string, paymentType: PaymentType, cost: string | undefined, chain?: string): WorkloadPayment => ({ ref, paymentType, chain, cost: cost === undefined ? undefined : new Dec(cost) });
const kinds = (m: Map<string, { kind: string; detail?: string }>): Record<string, string> =>
  Object.fromEntries([...m].map(([k, v]) => [k, v.kind === 'unpaid' ? `unpaid:${v.detail}` : v.kind]));

describe('payment decisions', () => {
  it('message status: terminal → unpaid, removing → paid but reported, pending/processed → paid, unknown → unknown', () => {
    const table: [string | undefined, string][] = [
      ['processed', 'paid'],
      ['pending', 'paid'],
      ['removing', 'paid:message_removing'],
      ['removed', 'unpaid:message_removed'],
      ['forgotten', 'unpaid:message_forgotten'],
      ['rejected', 'unpaid:message_rejected'],
      [undefined, 'unknown'],
    ];
    for (const [status, expected] of table) {
      const v = statusVerdict(status === undefined ? undefined : { status, reason: 'balance_insufficient' });
      const got = v.kind === 'unpaid' ? `unpaid:${v.detail}` : v.kind === 'paid' && v.note ? `paid:${v.note}` : v.kind;
      assert.equal(got, expected, String(status));
    }
  });

  // [case, workloads oldest first, account, expected verdicts]
  const cases: [string, WorkloadPayment[], AccountState | undefined, Record<string, string>][] = [
    ['hold: balance 1000 covers 400 + 600', [w('a', 'hold', '400'), w('b', 'hold', '600')], account('1000', '0'), { a: 'paid', b: 'paid' }],
    ['hold: balance 999 → the newest (600) goes, 400 stays', [w('a', 'hold', '400'), w('b', 'hold', '600')], account('999', '0'), { a: 'paid', b: 'unpaid:balance_insufficient' }],
    ['hold: balance 0 → all unpaid', [w('a', 'hold', '1'), w('b', 'hold', '1')], account('0', '0'), { a: 'unpaid:balance_insufficient', b: 'unpaid:balance_insufficient' }],
    ['hold: a zero-cost workload is paid with nothing', [w('a', 'hold', '0')], account('0', '0'), { a: 'paid' }],
    ['hold: exactly enough is enough (1000 for 400 + 600)', [w('a', 'hold', '400'), w('b', 'hold', '600')], account('1000', '0'), { a: 'paid', b: 'paid' }],
    ['credit: 0.01/s × 3600 = 36 credits needed, 35.99 is short', [w('a', 'credit', '0.01')], account('0', '35.99'), { a: 'unpaid:credit_insufficient' }],
    ['credit: 36 credits cover one hour of 0.01/s', [w('a', 'credit', '0.01')], account('0', '36'), { a: 'paid' }],
    ['credit: two at 0.01/s need 72: 50 keeps the older one', [w('a', 'credit', '0.01'), w('b', 'credit', '0.01')], account('0', '50'), { a: 'paid', b: 'unpaid:credit_insufficient' }],
    ['stream: 0.001/s = 3.6/h, flow 3.6/h covers it', [w('a', 'superfluid', '0.001', 'ETH')], account('0', '0', { ETH: '3.6' }), { a: 'paid' }],
    ['stream: flow 3.5/h is short', [w('a', 'superfluid', '0.001', 'ETH')], account('0', '0', { ETH: '3.5' }), { a: 'unpaid:flow_insufficient' }],
    ['stream: a flow on another chain does not count', [w('a', 'superfluid', '0.001', 'ETH')], account('0', '0', { BASE: '100' }), { a: 'unpaid:flow_insufficient' }],
    ['stream: chains are grouped apart', [w('a', 'superfluid', '0.001', 'ETH'), w('b', 'superfluid', '0.001', 'BASE')], account('0', '0', { ETH: '3.6' }), { a: 'paid', b: 'unpaid:flow_insufficient' }],
    [
      'kinds are independent: short credits do not stop a held one',
      [w('a', 'hold', '10'), w('b', 'credit', '1')],
      account('10.5', '1'),
      { a: 'paid', b: 'unpaid:credit_insufficient' },
    ],
    ['an unpriced workload is unknown and not counted', [w('a', 'hold', undefined), w('b', 'hold', '5')], account('5.1', '0'), { a: 'unknown', b: 'paid' }],
    ['the CCN did not answer: unknown, never unpaid', [w('a', 'hold', '5')], undefined, { a: 'unknown' }],
  ];
  for (const [name, workloads, acct, expected] of cases) {
    it(name, () => assert.deepEqual(kinds(ownerVerdicts(workloads, acct)), expected));
  }

  it('credits in the monitor: not exhausted is enough (one second of use, aleph-vm check_payment)', () => {
    assert.deepEqual(kinds(ownerVerdicts([w('a', 'credit', '0.01')], account('0', '1'), { creditSeconds: 1 })), { a: 'paid' });
    assert.deepEqual(kinds(ownerVerdicts([w('a', 'credit', '0.01')], account('0', '0'), { creditSeconds: 1 })), { a: 'unpaid:credit_insufficient' });
  });

  it('an unpaid verdict says what was available and required', () => {
    const v = ownerVerdicts([w('a', 'hold', '400'), w('b', 'hold', '600')], account('999', '0')).get('b');
    assert.ok(v?.kind === 'unpaid');
    assert.match(v.reason, /999 available, 1000 required/);
  });

  it('pay-as-you-go placement: only on the named node, only for this receiver', () => {
    const self = { nodeHash: 'ab'.repeat(32), receiver: '0x' + '1'.repeat(40) };
    const payg = (receiver: string, node?: string) => ({ payment: { type: 'superfluid', chain: 'ETH', receiver }, requirements: node === undefined ? null : { node: { node_hash: node } } });
    assert.equal(paygPlacementFailure(payg(self.receiver.toUpperCase().replace('0X', '0x'), self.nodeHash), self), undefined);
    assert.equal(paygPlacementFailure(payg('0x' + '2'.repeat(40), self.nodeHash), self)?.code, 'WRONG_RECEIVER');
    assert.equal(paygPlacementFailure(payg(self.receiver, 'cd'.repeat(32)), self)?.code, 'WRONG_NODE');
    assert.equal(paygPlacementFailure(payg(self.receiver), self)?.code, 'WRONG_NODE');
    assert.equal(paygPlacementFailure(payg(self.receiver, self.nodeHash), { ...self, nodeHash: '' })?.code, 'NODE_HASH_UNKNOWN');
    assert.equal(paygPlacementFailure({ payment: { type: 'credit' } }, self), undefined);
    assert.equal(paygPlacementFailure({ payment: { type: 'hold' } }, self), undefined);
  });
});
