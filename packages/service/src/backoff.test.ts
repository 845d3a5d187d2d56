import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffMs } from './backoff.ts';

describe('backoffMs', () => {
  it('doubles from the base and stops at the maximum', () => {
    const b = { baseMs: 100, maxMs: 1000 };
    assert.deepEqual([1, 2, 3, 4, 5, 6].map((a) => backoffMs(a, b)), [100, 200, 400, 800, 1000, 1000]);
  });

  it('treats attempts below 1, huge or not finite as bounded', () => {
    const b = { baseMs: 500, maxMs: 30_000 };
    assert.equal(backoffMs(0, b), 500);
    assert.equal(backoffMs(-3, b), 500);
    assert.equal(backoffMs(1e9, b), 30_000);
    assert.equal(backoffMs(Number.NaN, b), 500);
  });
});
