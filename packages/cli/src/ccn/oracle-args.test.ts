import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EthAccount } from '@aleph-nodes/protocol';
import { canonicalAmount, checkAddress, checkBalanceArgs, checkCredits, checkCreditsArgs, checkExpiry, checkFlowArgs, checkTimeout, checkTokenAmount } from './oracle-args.ts';
import { oraclePost } from './oracle-posts.ts';

const A = EthAccount.generate().address;
const B = EthAccount.generate().address;

function error(c: { ok: boolean; error?: string }): string {
  assert.equal(c.ok, false, 'expected a refusal');
  return c.error as string;
}

describe('ccn oracle arguments', () => {
  it('takes an address in any case and returns its EIP-55 form', () => {
    assert.deepEqual(checkAddress('ADDRESS', A.toLowerCase()), { ok: true, value: A });
    assert.deepEqual(checkAddress('ADDRESS', `0x${A.slice(2).toUpperCase()}`), { ok: true, value: A });
  });

  it('refuses what is not an address, naming the argument', () => {
    for (const bad of ['', '0x', 'abc', `${A}0`, A.slice(0, -1), `0x${'g'.repeat(40)}`, ` ${A}`]) {
      assert.match(error(checkAddress('SENDER', bad)), /^SENDER .* is not an Ethereum address/);
    }
  });

  it('refuses a mixed-case address with a wrong checksum', () => {
    const lower = A.slice(2).toLowerCase();
    // Flip the case of the first letter: still mixed case, no longer the checksum.
    const i = lower.search(/[a-f]/);
    const flipped = `0x${A.slice(2, 2 + i)}${A[2 + i] === A[2 + i]?.toUpperCase() ? A[2 + i]?.toLowerCase() : A[2 + i]?.toUpperCase()}${A.slice(3 + i)}`;
    if (i >= 0 && flipped !== A && /[A-F]/.test(flipped) && /[a-f]/.test(flipped)) assert.match(error(checkAddress('ADDRESS', flipped)), /checksum/);
  });

  it('takes non-negative decimals and writes them canonically', () => {
    const ok = (raw: string): string => {
      const c = checkTokenAmount('AMOUNT', raw, { exactAsNumber: true });
      assert.ok(c.ok, raw);
      return c.value;
    };
    assert.equal(ok('0'), '0');
    assert.equal(ok('000'), '0');
    assert.equal(ok('1000'), '1000');
    assert.equal(ok('12.50'), '12.5');
    assert.equal(ok('0012.000'), '12');
    assert.equal(ok('0.000000000000000001'), '0.000000000000000001');
    assert.equal(ok('1000000000000'), '1000000000000');
  });

  it('refuses negative, non-numeric, non-finite, exponent and badly formed amounts', () => {
    for (const bad of ['-1', '-0', '', ' 1', '1 ', '1e3', 'Infinity', 'NaN', '0x10', '1.', '.5', '1,5', '+1', '١٢', '1.2.3']) {
      assert.match(error(checkTokenAmount('AMOUNT', bad, { exactAsNumber: true })), /^AMOUNT .* is not a non-negative decimal number/, bad);
    }
  });

  it('refuses huge amounts and too many decimals, saying which bound', () => {
    assert.match(error(checkTokenAmount('AMOUNT', '1000000000000.5', { exactAsNumber: false })), /above the bound/);
    assert.match(error(checkTokenAmount('AMOUNT', '9'.repeat(400), { exactAsNumber: false })), /above the bound/);
    assert.match(error(checkTokenAmount('AMOUNT', '1.0000000000000000001', { exactAsNumber: false })), /more than 18 decimals/);
  });

  it('refuses a balance a JSON number would not carry exactly, but not a rate (a string)', () => {
    assert.match(error(checkTokenAmount('AMOUNT', '123456789.1234567', { exactAsNumber: true })), /significant digits/);
    assert.ok(checkTokenAmount('ALEPH_PER_HOUR', '123456789.1234567', { exactAsNumber: false }).ok);
    assert.match(error(checkFlowArgs(A, B, '1000000001')), /ALEPH_PER_HOUR .* above the bound of 1000000000/);
    assert.ok(checkTokenAmount('AMOUNT', '123456789.123456', { exactAsNumber: true }).ok);
  });

  it("credits: whole numbers from 1 to the CCN's bound", () => {
    assert.deepEqual(checkCredits('AMOUNT', '1'), { ok: true, value: 1 });
    assert.deepEqual(checkCredits('AMOUNT', '0042'), { ok: true, value: 42 });
    assert.deepEqual(checkCredits('AMOUNT', '1000000000000000'), { ok: true, value: 1e15 });
    assert.match(error(checkCredits('AMOUNT', '0')), /at least 1/);
    assert.match(error(checkCredits('AMOUNT', '1.5')), /whole number/);
    assert.match(error(checkCredits('AMOUNT', '-3')), /whole number/);
    assert.match(error(checkCredits('AMOUNT', '1000000000000001')), /above the bound/);
    assert.match(error(checkCredits('AMOUNT', '9'.repeat(30))), /above the bound/);
  });

  it('checks every argument of each command, first bad one reported', () => {
    assert.ok(checkBalanceArgs(A, '10').ok);
    assert.match(error(checkBalanceArgs('nope', '-1')), /^ADDRESS/);
    assert.match(error(checkBalanceArgs(A, '-1')), /^AMOUNT/);
    assert.ok(checkCreditsArgs(A, '10').ok);
    assert.match(error(checkCreditsArgs(A, 'ten')), /^AMOUNT/);
    assert.ok(checkFlowArgs(A, B, '0.5').ok);
    assert.match(error(checkFlowArgs('x', B, '1')), /^SENDER/);
    assert.match(error(checkFlowArgs(A, 'x', '1')), /^RECEIVER/);
    assert.match(error(checkFlowArgs(A, B, 'fast')), /^ALEPH_PER_HOUR/);
    assert.match(error(checkFlowArgs(A, A.toLowerCase(), '1')), /same address/);
  });

  it('--expires: a future ISO date or unix seconds, as unix ms', () => {
    const now = Date.parse('2026-12-03T00:00:00Z');
    assert.deepEqual(checkExpiry('2027-01-01T00:00:00Z', now), { ok: true, value: Date.parse('2027-01-01T00:00:00Z') });
    assert.deepEqual(checkExpiry('1800000000', now), { ok: true, value: 1_800_000_000_000 });
    assert.match(error(checkExpiry('2020-01-01', now)), /in the past/);
    assert.match(error(checkExpiry('tomorrow', now)), /neither an ISO 8601 date nor unix seconds/);
    const req = checkCreditsArgs(A, '10', '1800000000', now);
    assert.ok(req.ok && req.value.kind === 'credits' && req.value.expirationMs === 1_800_000_000_000);
    const post = oraclePost(req.value, { nowMs: now });
    assert.match(JSON.stringify(post.content), /"expiration":1800000000000/);
  });

  it('--timeout is a positive number of seconds up to an hour', () => {
    assert.deepEqual(checkTimeout('60'), { ok: true, value: 60 });
    for (const bad of ['0', '-1', 'x', '3601', '']) assert.equal(checkTimeout(bad).ok, false, bad);
  });

  it('reads amounts back as routes report them (strings or JSON numbers)', () => {
    assert.equal(canonicalAmount('12.50'), '12.5');
    assert.equal(canonicalAmount(String(1e-7)), '0.0000001');
    assert.equal(canonicalAmount(String(1.5e-7)), '0.00000015');
    assert.equal(canonicalAmount(String(100)), '100');
    assert.equal(canonicalAmount(String(1e21)), '1000000000000000000000');
  });
});

describe('ccn oracle posts', () => {
  it("balance: pyaleph's balances-update with an absolute amount and a monotonic height", () => {
    const post = oraclePost({ kind: 'balance', address: A, amount: '12.5' }, { nowMs: 1_700_000_000_123 });
    assert.deepEqual(post.content, { type: 'balances-update', content: { chain: 'ETH', main_height: 1_700_000_000_123, balances: { [A]: 12.5 } } });
  });

  it("credits: pyaleph's aleph_credit_distribution on ALEPH_CREDIT, integer amount", () => {
    const post = oraclePost({ kind: 'credits', address: A, amount: 1000 }, { nowMs: 5 });
    assert.equal(post.channel, 'ALEPH_CREDIT');
    assert.equal(post.content.type, 'aleph_credit_distribution');
    const dist = (post.content.content as { distribution: { credits: Record<string, unknown>[]; token: string; chain: string } }).distribution;
    assert.equal(dist.chain, 'ETH');
    assert.equal(dist.token, 'ALEPH');
    assert.equal(dist.credits.length, 1);
    assert.equal(dist.credits[0]?.address, A);
    assert.equal(dist.credits[0]?.amount, 1000);
    assert.equal(typeof dist.credits[0]?.price, 'string');
    assert.equal(typeof dist.credits[0]?.tx_hash, 'string');
    assert.equal(typeof dist.credits[0]?.provider, 'string');
  });

  it('flow: aleph-flows-update with the rate as a decimal string', () => {
    const post = oraclePost({ kind: 'flow', sender: A, receiver: B, ratePerHour: '0.25' }, { nowMs: 5 });
    assert.deepEqual(post.content, { type: 'aleph-flows-update', content: { chain: 'ETH', flows: [{ sender: A, receiver: B, rate_per_hour: '0.25' }] } });
  });
});
