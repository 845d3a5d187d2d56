import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { flowIncome, type FlowReport } from './income.ts';

const r = (time: number, rate: string, hash = `h${time}`, receiver = 'crn'): FlowReport => ({ chain: 'ETH', sender_lc: 'user', receiver_lc: receiver, rate_per_hour: rate, time, item_hash: hash, idx: 0 });

describe('flow income', () => {
  it('integrates each rate from its report to the next, clipped to the period', () => {
    // 2 ALEPH/h from 0 to 3600, then 1 ALEPH/h until it ends at 7200.
    const income = flowIncome([r(0, '2'), r(3600, '1'), r(7200, '0')], 1800, 9000);
    assert.equal(income.get('crn')?.toFixed(), '2');
  });

  it('a flow still running counts until the end of the period; other receivers apart', () => {
    const income = flowIncome([r(0, '3.6'), r(0, '1', 'x', 'other')], 0, 100);
    assert.equal(income.get('crn')?.toFixed(), '0.1');
    assert.equal(income.get('other')?.toFixed(), new (income.get('other')!.constructor as typeof import('decimal.js').Decimal)(100).div(3600).toFixed());
  });

  it('reports in any order give the same income', () => {
    const reports = [r(0, '2'), r(3600, '1'), r(7200, '0'), r(100, '5', 'z', 'other')];
    assert.equal(flowIncome([...reports].reverse(), 0, 10_000).get('crn')?.toFixed(), flowIncome(reports, 0, 10_000).get('crn')?.toFixed());
  });
});
