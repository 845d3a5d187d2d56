import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_ORACLE_ENTRIES, parseOraclePost } from './oracle.ts';

const A = '0x' + 'a'.repeat(40);
const B = '0x' + 'b'.repeat(40);

describe('oracle posts', () => {
  it('reads a balances-update with decimal strings and numbers', () => {
    const r = parseOraclePost('balances-update', { chain: 'ETH', main_height: 5, balances: { [A]: '12.5', [B]: 3 } });
    assert.ok(r.ok);
    assert.deepEqual(r.post.content, { chain: 'ETH', main_height: 5, balances: { [A]: '12.5', [B]: '3' } });
  });

  for (const [what, amount] of [
    ['negative', -1],
    ['negative string', '-1'],
    ['huge', 1e30],
    ['huge string', '1' + '0'.repeat(30)],
    ['non-numeric', 'lots'],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['exponent string', '1e5'],
    ['boolean', true],
    ['null', null],
  ] as const) {
    it(`refuses a ${what} balance`, () => {
      const r = parseOraclePost('balances-update', { chain: 'ETH', balances: { [A]: amount } });
      assert.equal(r.ok, false);
    });
  }

  it('refuses bad addresses and unbounded posts', () => {
    assert.equal(parseOraclePost('balances-update', { chain: 'ETH', balances: { 'not an address': 1 } }).ok, false);
    const many = Array.from({ length: MAX_ORACLE_ENTRIES + 1 }, () => ({ sender: A, receiver: B, rate_per_hour: '1' }));
    assert.equal(parseOraclePost('aleph-flows-update', { chain: 'ETH', flows: many }).ok, false);
  });

  it('credits are positive integers (pyaleph), expiration in ms', () => {
    const entry = { address: A, amount: 100, price: '0.5', tx_hash: '0x1', provider: 'test', expiration: 1_900_000_000_000 };
    assert.ok(parseOraclePost('aleph_credit_distribution', { distribution: { credits: [entry], token: 'ALEPH', chain: 'ETH' } }).ok);
    for (const amount of [0, -3, 1.5, '100', 1e20]) {
      assert.equal(parseOraclePost('aleph_credit_distribution', { distribution: { credits: [{ ...entry, amount }], token: 'ALEPH', chain: 'ETH' } }).ok, false, String(amount));
    }
    assert.equal(parseOraclePost('aleph_credit_transfer', { transfer: { credits: [{ address: A, amount: 1 }, { address: A.toUpperCase().replace('0X', '0x'), amount: 2 }] } }).ok, false);
  });

  it('flow rates are decimal strings per hour', () => {
    const r = parseOraclePost('aleph-flows-update', { chain: 'ETH', flows: [{ sender: A, receiver: B, rate_per_hour: '0.000001' }] });
    assert.ok(r.ok);
    assert.equal(parseOraclePost('aleph-flows-update', { chain: 'ETH', flows: [{ sender: A, receiver: B, rate_per_hour: '-1' }] }).ok, false);
  });
});
