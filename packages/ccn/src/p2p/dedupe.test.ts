import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DedupeCache } from './dedupe.ts';

describe('gossip dedupe cache', () => {
  it('remembers keys and forgets the oldest beyond its capacity', () => {
    const cache = new DedupeCache(3);
    for (const k of ['a', 'b', 'c']) cache.add(k);
    assert.ok(cache.has('a') && cache.has('b') && cache.has('c'));
    cache.add('d');
    assert.equal(cache.size, 3);
    assert.ok(!cache.has('a'));
    assert.ok(cache.has('b') && cache.has('d'));
  });

  it('does not grow on a key it already holds', () => {
    const cache = new DedupeCache(2);
    cache.add('x');
    cache.add('x');
    cache.add('y');
    assert.equal(cache.size, 2);
    assert.ok(cache.has('x'));
  });

  it('stays within its bound whatever is added, and stores fixed-size digests', () => {
    const cache = new DedupeCache(1000);
    for (let i = 0; i < 20_000; i++) cache.add(`${'s'.repeat(500)}\n${i}\n${'z'.repeat(4000)}`);
    assert.equal(cache.size, 1000);
    assert.ok(cache.has(`${'s'.repeat(500)}\n19999\n${'z'.repeat(4000)}`));
    assert.ok(!cache.has(`${'s'.repeat(500)}\n0\n${'z'.repeat(4000)}`));
    assert.equal(DedupeCache.digest('x'.repeat(100_000)).length, 22);
  });

  it('refuses a capacity that is not a positive integer', () => {
    assert.throws(() => new DedupeCache(0), RangeError);
    assert.throws(() => new DedupeCache(1.5), RangeError);
  });
});
