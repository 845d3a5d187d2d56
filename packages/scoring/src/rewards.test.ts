import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { distributeRewards, linkageFactor, type RewardCcn, type RewardCrn } from './rewards.ts';

const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-6, `${a} ≈ ${b}`);

function ccn(hash: string, linked: string[], score = 1, stakers: Record<string, number> = {}): RewardCcn {
  return { hash, rewardAddress: `0x${hash}`, active: true, score, stakers, linkedCrns: linked };
}
function crnNode(hash: string, parent: string | null, score = 1, decentralization = 1): RewardCrn {
  return { hash, rewardAddress: `0x${hash}`, parent, score, decentralization };
}

describe('linkage', () => {
  it('0 to 3 working CRNs give 70%, 80%, 90%, 100%', () => {
    [0.7, 0.8, 0.9, 1].forEach((expected, n) => close(linkageFactor(n), expected));
    close(linkageFactor(5), 1);
  });
});

describe('distributeRewards', () => {
  it('worked example: one CCN, three CRNs (one down), one staker, one day', () => {
    // CCN: 15,000 / 1 active × linkage(2 working) 0.9 × m(1) 1 = 13,500
    // stakers: 15,000 × (log10(1) + 1) / 3 = 5,000, all to the only staker
    // crn-a: (250 + 1,250 × 0.5) / 30 × 1 day × m(0.9)=1 = 875 / 30 = 29.166667
    // crn-b: (250 + 1,250 × 1) / 30 × m(0.5) = 1,500 / 30 × 0.5 = 25
    // crn-c: score 0.1 → m = 0 → nothing (and it does not count as working for the CCN)
    const out = distributeRewards({
      days: 1,
      ccns: [ccn('c1', ['a', 'b', 'c'], 1, { '0xstaker': 10_000 })],
      crns: [crnNode('a', 'c1', 0.9, 0.5), crnNode('b', 'c1', 0.5, 1), crnNode('c', 'c1', 0.1, 1)],
    });
    close(out.rewards['0xc1'] as number, 13_500);
    close(out.rewards['0xstaker'] as number, 5_000);
    close(out.rewards['0xa'] as number, 875 / 30);
    close(out.rewards['0xb'] as number, 25);
    assert.equal(out.rewards['0xc'], undefined);
    close(out.total, 13_500 + 5_000 + 875 / 30 + 25);
  });

  it('a CCN with no linked CRN earns 70%, and unlinked CRNs earn nothing', () => {
    // 2 active CCNs: each 15,000 / 2 = 7,500 per day; c1 has no CRN → × 0.7 = 5,250
    // c2 has 3 working CRNs → × 1 = 7,500; the unlinked CRN gets nothing.
    const out = distributeRewards({
      days: 1,
      ccns: [ccn('c1', []), ccn('c2', ['x', 'y', 'z'])],
      crns: [crnNode('x', 'c2'), crnNode('y', 'c2'), crnNode('z', 'c2'), crnNode('lonely', null)],
    });
    close(out.rewards['0xc1'] as number, 5_250);
    close(out.rewards['0xc2'] as number, 7_500);
    assert.equal(out.rewards['0xlonely'], undefined);
  });

  it('an hour is 1/24 of a day, and stakers share pro rata', () => {
    // pool per day with 2 active CCNs: 15,000 × (log10 2 + 1) / 3 = 5,000 × 1.30103 = 6,505.15
    // one hour: 6,505.15 / 24 = 271.0479; split 1:3 → 67.762, 203.286
    const out = distributeRewards({
      days: 1 / 24,
      ccns: [ccn('c1', [], 1, { '0xs1': 100 }), ccn('c2', [], 1, { '0xs2': 300 })],
      crns: [],
    });
    const pool = (15_000 * (Math.log10(2) + 1)) / 3 / 24;
    close(out.rewards['0xs1'] as number, pool / 4);
    close(out.rewards['0xs2'] as number, (pool * 3) / 4);
  });

  it('the same input gives the same bytes', () => {
    const input = { days: 1, ccns: [ccn('c1', ['a'], 0.7, { '0xs': 1 })], crns: [crnNode('a', 'c1', 0.65, 0.3)] };
    assert.equal(JSON.stringify(distributeRewards(input)), JSON.stringify(distributeRewards(input)));
  });

  it('a CCN with 0, 1, 2 or 3 working linked CRNs earns 70%, 80%, 90%, 100% of its share', () => {
    // 4 active CCNs, one day: share = 15,000 / 4 = 3,750 each, m(1) = 1.
    // c0: 0 CRNs → 3,750 × 0.7 = 2,625     c1: 1 → 3,750 × 0.8 = 3,000
    // c2: 2 → 3,750 × 0.9 = 3,375          c3: 3 → 3,750 × 1.0 = 3,750
    // Each CRN (decentralization 0): 250 / 30 × 1 day = 8.333333 (rounded to 1e-6)
    const out = distributeRewards({
      days: 1,
      ccns: [ccn('c0', []), ccn('c1', ['a1']), ccn('c2', ['b1', 'b2']), ccn('c3', ['d1', 'd2', 'd3'])],
      crns: ['a1', 'b1', 'b2', 'd1', 'd2', 'd3'].map((h) => crnNode(h, `c${h.startsWith('a') ? 1 : h.startsWith('b') ? 2 : 3}`, 1, 0)),
    });
    close(out.rewards['0xc0'] as number, 2_625);
    close(out.rewards['0xc1'] as number, 3_000);
    close(out.rewards['0xc2'] as number, 3_375);
    close(out.rewards['0xc3'] as number, 3_750);
    close(out.rewards['0xd1'] as number, 250 / 30);
  });

  it('scores of exactly 0.2 and 0.8: the first earns nothing, the second everything', () => {
    // m(0.2) = 0 (the floor is unpaid), m(0.8) = 1.
    // CCN c1 score 0.8 → 15,000 × linkage × 1; its CRNs: lo (0.2, m 0, not working), hi (0.8, working)
    // → linkage = 0.7 + 0.1 × 1 = 0.8 → 12,000
    // hi: (250 + 1,250 × 0.4) / 30 = 750 / 30 = 25; lo: 0
    const out = distributeRewards({
      days: 1,
      ccns: [ccn('c1', ['lo', 'hi'], 0.8)],
      crns: [crnNode('lo', 'c1', 0.2, 1), crnNode('hi', 'c1', 0.8, 0.4)],
    });
    close(out.rewards['0xc1'] as number, 12_000);
    close(out.rewards['0xhi'] as number, 25);
    assert.equal(out.rewards['0xlo'], undefined);
    // A CCN at exactly 0.2 earns nothing (its stakers still share the stakers' pool).
    const floor = distributeRewards({ days: 1, ccns: [ccn('c1', [], 0.2, { '0xs': 1 })], crns: [] });
    assert.equal(floor.rewards['0xc1'], undefined);
    close(floor.rewards['0xs'] as number, 5_000);
  });

  it('a node with no score (no metrics) earns nothing and does not count as working', () => {
    // CRN "silent" was never measured: score 0 → m 0; the CCN keeps the 70% floor: 15,000 × 0.7 = 10,500
    const out = distributeRewards({ days: 1, ccns: [ccn('c1', ['silent'])], crns: [crnNode('silent', 'c1', 0, 0)] });
    close(out.rewards['0xc1'] as number, 10_500);
    assert.equal(out.rewards['0xsilent'], undefined);
  });
});
