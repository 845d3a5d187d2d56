import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DecayingPenalties, PeerRateLimiter } from './rate-limit.ts';

describe('per-peer token bucket', () => {
  it('lets a burst through, then the average rate', () => {
    let now = 0;
    const limiter = new PeerRateLimiter({ ratePerSecond: 10, burst: 5, now: () => now });
    for (let i = 0; i < 5; i++) assert.ok(limiter.take('p'), `message ${i}`);
    assert.ok(!limiter.take('p'));
    now += 100; // one token
    assert.ok(limiter.take('p'));
    assert.ok(!limiter.take('p'));
    now += 10_000; // refills to the burst, not beyond
    let taken = 0;
    while (limiter.take('p')) taken++;
    assert.equal(taken, 5);
  });

  it('keeps peers apart', () => {
    const limiter = new PeerRateLimiter({ ratePerSecond: 1, burst: 1, now: () => 0 });
    assert.ok(limiter.take('a'));
    assert.ok(!limiter.take('a'));
    assert.ok(limiter.take('b'));
  });

  it('does not count refused messages against the budget', () => {
    let now = 0;
    const limiter = new PeerRateLimiter({ ratePerSecond: 1, burst: 1, now: () => now });
    assert.ok(limiter.take('a'));
    for (let i = 0; i < 100; i++) assert.ok(!limiter.take('a'));
    now += 1000;
    assert.ok(limiter.take('a'));
  });

  it('tracks a bounded number of peers, forgetting the least recently seen', () => {
    const limiter = new PeerRateLimiter({ ratePerSecond: 1, burst: 1, maxPeers: 100, now: () => 0 });
    for (let i = 0; i < 1000; i++) limiter.take(`peer-${i}`);
    assert.equal(limiter.size, 100);
    // peer-0 was forgotten: it starts again with a full bucket.
    assert.ok(limiter.take('peer-0'));
  });
});

describe('decaying penalties', () => {
  it('add up and halve every half-life', () => {
    let now = 0;
    const p = new DecayingPenalties({ halfLifeSeconds: 60, now: () => now });
    assert.equal(p.value('x'), 0);
    p.add('x', 10);
    p.add('x', 10);
    assert.equal(p.value('x'), 20);
    now += 60_000;
    assert.ok(Math.abs(p.value('x') - 10) < 1e-9);
    now += 60 * 60_000;
    assert.equal(p.value('x'), 0);
  });

  it('are bounded in peers', () => {
    const p = new DecayingPenalties({ halfLifeSeconds: 60, maxPeers: 10, now: () => 0 });
    for (let i = 0; i < 100; i++) p.add(`peer-${i}`, 1);
    assert.equal(p.value('peer-0'), 0);
    assert.equal(p.value('peer-99'), 1);
  });
});
