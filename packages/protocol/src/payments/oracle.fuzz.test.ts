/**
 * The oracle post schemas are the boundary of every payment amount: whatever JSON a post carries,
 * parsing never throws, and what it accepts is bounded (finite, ≥ 0, within the maxima, decimal
 * strings a Decimal reads back exactly, capped entry counts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Dec } from '../cost/decimal.ts';
import { fuzzRuns } from '../testing/fuzz.ts';
import { MAX_BALANCE_ENTRIES, MAX_FLOW_RATE_PER_HOUR, MAX_ORACLE_ENTRIES, MAX_TOKEN_AMOUNT, ORACLE_POST_SCHEMAS, parseOraclePost, type OraclePostType } from './oracle.ts';

const TYPES = Object.keys(ORACLE_POST_SCHEMAS) as OraclePostType[];
const A = '0x' + 'a'.repeat(40);
const amountArb = fc.oneof(fc.double(), fc.integer(), fc.bigInt().map(String), fc.string(), fc.constantFrom('1e3', '-0', '0.0000000000000000001', '1'.repeat(20), ' 5 ', 'NaN'), fc.anything());

describe('oracle posts (fuzz)', () => {
  it('never throws on any content', () => {
    fc.assert(
      fc.property(fc.constantFrom(...TYPES), fc.anything(), (type, inner) => {
        parseOraclePost(type, inner);
      }),
      { numRuns: fuzzRuns() },
    );
  });

  it('accepted balances and rates are bounded decimals', () => {
    fc.assert(
      fc.property(amountArb, amountArb, (balance, rate) => {
        const b = parseOraclePost('balances-update', { chain: 'ETH', balances: { [A]: balance } });
        if (b.ok && b.post.type === 'balances-update') {
          for (const v of Object.values(b.post.content.balances)) {
            const d = new Dec(v);
            assert.ok(d.isFinite() && d.gte(0) && d.lte(MAX_TOKEN_AMOUNT), v);
          }
          assert.ok(Object.keys(b.post.content.balances).length <= MAX_BALANCE_ENTRIES);
        }
        const f = parseOraclePost('aleph-flows-update', { chain: 'ETH', flows: [{ sender: A, receiver: A, rate_per_hour: rate }] });
        if (f.ok && f.post.type === 'aleph-flows-update') {
          for (const e of f.post.content.flows) {
            const d = new Dec(e.rate_per_hour);
            assert.ok(d.isFinite() && d.gte(0) && d.lte(MAX_FLOW_RATE_PER_HOUR));
          }
          assert.ok(f.post.content.flows.length <= MAX_ORACLE_ENTRIES);
        }
      }),
      { numRuns: fuzzRuns() },
    );
  });

  it('accepted credit amounts are positive safe integers', () => {
    fc.assert(
      fc.property(amountArb, (amount) => {
        const r = parseOraclePost('aleph_credit_expense', { expense: { credits: [{ address: A, amount }] } });
        if (r.ok && r.post.type === 'aleph_credit_expense') for (const e of r.post.content.expense.credits) assert.ok(Number.isSafeInteger(e.amount) && e.amount > 0);
      }),
      { numRuns: fuzzRuns() },
    );
  });
});
