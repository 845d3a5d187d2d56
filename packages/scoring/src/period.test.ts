import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalJson } from './canonical.ts';
import { isAnnouncedVersion, measuredSubscores, CRN_SUBSCORES } from './measurements.ts';
import { periodScores, type PeriodScoresPost } from './period.ts';

const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-9, `${a} ≈ ${b}`);

function post(itemHash: string, from: number, to: number, crn: Record<string, number>, time = to, sender = '0xA'): PeriodScoresPost {
  return { itemHash, sender, time, from, to, ccn: [], crn: Object.entries(crn).map(([node_id, s]) => ({ node_id, total_score: s, decentralization: 1 })) };
}

describe('periodScores', () => {
  it('weights each post by the part of the period it covers', () => {
    // Period [0, 100). p1 covers [0, 50) → weight 50; p2 covers [50, 150) → overlap [50, 100) = 50.
    // a: (50 × 1 + 50 × 0.5) / 100 = 0.75; b: only in p2 → (50 × 0.8) / 100 = 0.4 (absent = 0)
    const s = periodScores([post('p1', 0, 50, { a: 1 }), post('p2', 50, 150, { a: 0.5, b: 0.8 })], 0, 100);
    close(s.crn.get('a')?.score as number, 0.75);
    close(s.crn.get('b')?.score as number, 0.4);
    assert.equal(s.coveredSeconds, 100);
    assert.deepEqual(s.posts, ['p1', 'p2']);
  });

  it('counts one post per sender and period (the latest), ignores posts outside the period', () => {
    // p1 and p1bis cover the same period from the same sender: the later (p1bis, a = 0.2) counts.
    const s = periodScores([post('p1', 0, 10, { a: 1 }, 10), post('p1bis', 0, 10, { a: 0.2 }, 11), post('out', 10, 20, { a: 1 })], 0, 10);
    close(s.crn.get('a')?.score as number, 0.2);
    assert.deepEqual(s.posts, ['p1bis']);
  });

  it('no posts: nothing covered, no scores', () => {
    const s = periodScores([], 0, 10);
    assert.equal(s.coveredSeconds, 0);
    assert.equal(s.crn.size, 0);
  });
});

describe('helpers', () => {
  it('canonical JSON sorts keys at every level', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [{ y: 1, x: 2 }], c: 0 } }), '{"a":{"c":0,"d":[{"x":2,"y":1}]},"b":1}');
  });

  it('only the sub-scores of checks the monitor ran', () => {
    // No measurement has a diagnostic key: that sub-score is left out (not 100 s everywhere).
    const specs = measuredSubscores(CRN_SUBSCORES, [{ time: 0, version: '1.0.0', latencies: { base_latency: 0.1, full_check_latency: null } }]);
    assert.deepEqual(specs.map((s) => `${s.check}@${s.percentile}`), ['base_latency@0.25', 'base_latency@0.95', 'full_check_latency@0.25']);
  });

  it('a version is valid when announced as x.y.z', () => {
    assert.equal(isAnnouncedVersion('1.14.0'), true);
    assert.equal(isAnnouncedVersion('0.1.0-rc1'), true);
    assert.equal(isAnnouncedVersion(null), false);
    assert.equal(isAnnouncedVersion('latest'), false);
  });
});
