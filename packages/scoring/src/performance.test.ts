import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decentralizationScores } from './decentralization.ts';
import { CRN_SUBSCORES, type Measurement } from './measurements.ts';
import { percentileDisc } from './percentile.ts';
import { geometricMean, periodPerformance, subScore } from './performance.ts';
import { scoreNode } from './scores.ts';

const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-9, `${a} ≈ ${b}`);
const valid = (v: string | null) => v !== null && v.startsWith('1.');

function crn(time: number, base: number | null, diag: number | null, full: number | null, version: string | null = '1.0.0'): Measurement {
  return { time, version, latencies: { base_latency: base, diagnostic_vm_latency: diag, full_check_latency: full } };
}

describe('percentileDisc', () => {
  it('takes the nearest rank, no interpolation', () => {
    // sorted [1,2,3,4]: p25 → rank ceil(1) = 1 → 1; p95 → rank ceil(3.8) = 4 → 4; p50 → rank 2 → 2
    assert.equal(percentileDisc([4, 1, 3, 2], 0.25), 1);
    assert.equal(percentileDisc([4, 1, 3, 2], 0.95), 4);
    assert.equal(percentileDisc([4, 1, 3, 2], 0.5), 2);
    assert.throws(() => percentileDisc([], 0.5), RangeError);
  });
});

describe('performance', () => {
  it('sub-score is 1 − percentile/divisor, floored at 0, failures count as 100 s', () => {
    close(subScore([0.5], { check: 'x', percentile: 0.25, divisor: 2 }), 0.75); // 1 − 0.5/2
    assert.equal(subScore([null], { check: 'x', percentile: 0.25, divisor: 2 }), 0); // 1 − 100/2 < 0
    close(geometricMean([0.25, 1]), 0.5); // sqrt(0.25 × 1)
  });

  it('worked example: one hour, two probes', () => {
    // base latencies [0.2, 0.6]: p25 = 0.2 → 1 − 0.2/2 = 0.9; p95 = 0.6 → 1 − 0.6/2 = 0.7
    // diagnostic [0.5, 1.0]: p25 = 0.5 → 1 − 0.5/2.5 = 0.8
    // full check [1.0, 2.0]: p25 = 1.0 → 1 − 1/4 = 0.75
    // performance = (0.9 × 0.7 × 0.8 × 0.75)^(1/4) = 0.378^(1/4)
    const ms = [crn(3600, 0.2, 0.5, 1.0), crn(3700, 0.6, 1.0, 2.0)];
    const p = periodPerformance(ms, { subscores: CRN_SUBSCORES, isValidVersion: valid, dropWorstHoursFraction: 0 });
    close(p.performance, 0.378 ** 0.25);
    assert.equal(p.version, 1);
    assert.equal(p.hours, 1);
  });

  it('an hour on an invalid version scores 0 and lowers the version share', () => {
    // hour 1: perfect-ish probe: base 0 → 1, 1; diag 0 → 1; full 0 → 1 → performance 1
    // hour 2: same latencies but version 0.9.0 (invalid) → 0
    // mean = (1 + 0) / 2 = 0.5; version = 1/2; total = sqrt(0.5 × 0.5) = 0.5
    const ms = [crn(0, 0, 0, 0), crn(3600, 0, 0, 0, '0.9.0')];
    const s = scoreNode('n', ms, 1, { subscores: CRN_SUBSCORES, isValidVersion: valid, dropWorstHoursFraction: 0 });
    close(s.performance, 0.5);
    close(s.version, 0.5);
    close(s.total_score, 0.5);
  });

  it('a probe without a version is a missing measurement; an hour without any version is invalid', () => {
    // Hour 0: 20 probes announcing 1.0.0 and 1 probe without answer (all checks failed, no version).
    // The hour stays on a valid version; the failure weighs through the latencies: base p95 over
    // 21 values is rank ceil(19.95) = 20, still 0 s → performance 1.
    const ms: Measurement[] = [];
    for (let i = 0; i < 20; i++) ms.push(crn(i, 0, 0, 0));
    ms.push(crn(20, null, null, null, null));
    const opts = { subscores: CRN_SUBSCORES, isValidVersion: valid, dropWorstHoursFraction: 0 };
    const p = periodPerformance(ms, opts);
    assert.equal(p.version, 1);
    close(p.performance, 1);
    // An hour in which no probe got a version: invalid, performance 0.
    const silent = periodPerformance([crn(0, null, null, null, null)], opts);
    assert.deepEqual([silent.version, silent.performance], [0, 0]);
  });

  it('drops the worst hours, keeping at least one', () => {
    // 10 hours: nine at performance 1, one down (all checks failed → 0).
    // Dropping 10% = floor(10 × 0.1) = 1 hour removes the outage: performance 1.
    const ms: Measurement[] = [];
    for (let h = 0; h < 9; h++) ms.push(crn(h * 3600, 0, 0, 0));
    ms.push(crn(9 * 3600, null, null, null));
    const kept = periodPerformance(ms, { subscores: CRN_SUBSCORES, isValidVersion: valid, dropWorstHoursFraction: 0.1 });
    assert.equal(kept.droppedHours, 1);
    close(kept.performance, 1);
    // Without dropping: (9 × 1 + 0) / 10 = 0.9
    close(periodPerformance(ms, { subscores: CRN_SUBSCORES, isValidVersion: valid, dropWorstHoursFraction: 0 }).performance, 0.9);
    // One hour only: nothing is dropped even at 100%.
    assert.equal(periodPerformance([crn(0, 0, 0, 0)], { subscores: CRN_SUBSCORES, isValidVersion: valid, dropWorstHoursFraction: 1 }).droppedHours, 0);
  });

  it('a node with no metrics scores 0 everywhere', () => {
    const s = scoreNode('silent', [], 1, { subscores: CRN_SUBSCORES, isValidVersion: valid, dropWorstHoursFraction: 0.05 });
    assert.deepEqual([s.total_score, s.performance, s.version], [0, 0, 0]);
  });
});

describe('decentralization', () => {
  it('nodes sharing a network count against each other', () => {
    // 4 nodes: a, b in AS1; c in AS2; d unknown.
    // a: 1 other of 4 → (1 − 1/4)² = 0.5625; c: (1 − 0)² = 1; d (unknown): 1
    const d = decentralizationScores(new Map([['a', 'AS1'], ['b', 'AS1'], ['c', 'AS2'], ['d', null]]));
    close(d.get('a') as number, 0.5625);
    close(d.get('b') as number, 0.5625);
    close(d.get('c') as number, 1);
    close(d.get('d') as number, 1);
  });
});
