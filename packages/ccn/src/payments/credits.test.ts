import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { consumedUntil, replayCredits, type CreditEvent } from './credits.ts';

const grant = (hash: string, time: number, amount: number, expiration: number | null = null): CreditEvent => ({ kind: 'grant', hash, idx: 0, time, amount, expiration });
const debit = (hash: string, time: number, amount: number): CreditEvent => ({ kind: 'debit', hash, idx: 0, time, amount, expiration: null });

describe('credit lots', () => {
  it('draws debits FIFO: the oldest lot first', () => {
    const s = replayCredits([grant('a', 10, 100), grant('b', 20, 50), debit('x', 30, 120)], 40);
    assert.deepEqual(
      s.lots.map((l) => [l.hash, l.remaining]),
      [
        ['a', 0],
        ['b', 30],
      ],
    );
    assert.equal(s.balance, 30);
  });

  it('an expired lot counts for nothing and is skipped by later debits', () => {
    const s = replayCredits([grant('a', 10, 100, 25), grant('b', 20, 50), debit('x', 30, 40)], 40);
    assert.deepEqual(
      s.lots.map((l) => l.remaining),
      [100, 10],
    );
    assert.equal(s.balance, 10);
    // Before its expiration the lot counts and is drawn first.
    assert.equal(replayCredits([grant('a', 10, 100, 25), grant('b', 20, 50), debit('x', 22, 40)], 24).balance, 110);
  });

  it('an overdraw takes what is there and never makes a balance negative', () => {
    const s = replayCredits([grant('a', 10, 5), debit('x', 20, 1_000_000)], 30);
    assert.equal(s.balance, 0);
    assert.equal(s.drawn.get('x:0'), 5);
  });

  it('ignores events after the instant asked, and bad amounts', () => {
    assert.equal(replayCredits([grant('a', 10, 100), debit('x', 50, 60)], 40).balance, 100);
    assert.equal(replayCredits([grant('a', 10, -5), grant('b', 10, Number.NaN), grant('c', 10, Number.POSITIVE_INFINITY)], 40).balance, 0);
  });

  it('gives the same lots whatever order the events are listed in', () => {
    const events = [grant('a', 10, 100, 60), grant('b', 20, 50), debit('x', 30, 70), debit('y', 30, 20), grant('c', 30, 5), debit('z', 70, 40)];
    const reference = replayCredits(events, 100);
    for (let i = 0; i < 20; i++) {
      const shuffled = [...events].sort(() => Math.random() - 0.5);
      assert.deepEqual(replayCredits(shuffled, 100), reference);
    }
  });

  it('consumption is the floor of rate × elapsed, and per-period rows telescope to it', () => {
    assert.equal(consumedUntil('0.5', 100, 103), 1);
    assert.equal(consumedUntil('0.5', 100, 100), 0);
    assert.equal(consumedUntil('0.5', 100, 90), 0);
    const rate = '0.333333333333333333';
    let previous = 0;
    let sum = 0;
    for (let b = 110; b <= 200; b += 10) {
      const c = consumedUntil(rate, 101, b);
      sum += c - previous;
      previous = c;
    }
    assert.equal(sum, consumedUntil(rate, 101, 200));
  });
});
