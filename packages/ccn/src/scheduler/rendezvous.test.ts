/** Rendezvous ranking: deterministic, order-independent, spread, and stable when a CCN leaves. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sha256Hex } from '@aleph-nodes/protocol';
import { outranks, rankByRendezvous, rendezvousWeight } from './rendezvous.ts';

const ccns = Array.from({ length: 5 }, (_, i) => sha256Hex(`ccn-${i}`));
const items = Array.from({ length: 400 }, (_, i) => sha256Hex(`workload-${i}`));

describe('rendezvous hashing', () => {
  it('ranks the same whatever the input order, duplicates included', () => {
    for (const item of items.slice(0, 50)) {
      const a = rankByRendezvous(item, ccns);
      const b = rankByRendezvous(item, [...ccns].reverse().concat(ccns[0] as string));
      assert.deepEqual(a, b);
      assert.equal(a.length, ccns.length);
    }
  });

  it('is the weight order: sha256 of item hash, separator, node hash (case-insensitive)', () => {
    const item = items[0] as string;
    const ranked = rankByRendezvous(item, ccns);
    const weights = ranked.map((h) => rendezvousWeight(item, h));
    assert.deepEqual(weights, [...weights].sort().reverse());
    assert.equal(rendezvousWeight(item.toUpperCase(), (ccns[0] as string).toUpperCase()), rendezvousWeight(item, ccns[0] as string));
    assert.equal(rendezvousWeight(item, ccns[0] as string), sha256Hex(`${item}:${ccns[0]}`));
    assert.equal(outranks(item, ranked[0] as string, ranked[1] as string), true);
    assert.equal(outranks(item, ranked[1] as string, ranked[0] as string), false);
  });

  it('spreads workloads over the CCNs', () => {
    const firsts = new Map<string, number>();
    for (const item of items) {
      const first = rankByRendezvous(item, ccns)[0] as string;
      firsts.set(first, (firsts.get(first) ?? 0) + 1);
    }
    assert.equal(firsts.size, ccns.length);
    // 400 over 5: 80 each on average; a fair hash stays well within [40, 120].
    for (const n of firsts.values()) assert.ok(n > 40 && n < 120, `${n} workloads on one CCN`);
  });

  it('moves only the workloads of a CCN that leaves', () => {
    const gone = ccns[2] as string;
    const rest = ccns.filter((c) => c !== gone);
    for (const item of items) {
      const before = rankByRendezvous(item, ccns)[0];
      const after = rankByRendezvous(item, rest)[0];
      if (before !== gone) assert.equal(after, before, 'a workload whose first CCN stays does not move');
      else assert.equal(after, rankByRendezvous(item, ccns)[1], 'the next in rank takes it');
    }
  });
});
