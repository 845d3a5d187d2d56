import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { advanceCursor, batches, checkPage } from './cursor.ts';
import { PeerScore, BAN_SCORE } from './peer-score.ts';
import type { SyncPage } from './wire.ts';

const h = (n: number): string => n.toString(16).padStart(64, '0');
const page = (seqs: number[], extra: Partial<SyncPage> = {}): SyncPage => ({
  messages: seqs.map((seq) => ({ seq, item_hash: h(seq), status: 'processed' as const })),
  next: seqs.at(-1) ?? 0,
  last_seq: Math.max(0, ...seqs),
  ...extra,
});

describe('sync cursor rules', () => {
  it('accepts an increasing page after the cursor', () => {
    assert.deepEqual(checkPage(page([5, 6, 9]), 4, 10), { kind: 'ok' });
    assert.deepEqual(checkPage(page([], { next: 4, last_seq: 9 }), 4, 10), { kind: 'ok' });
  });

  it('refuses pages that go backwards, repeat, overflow or announce a wrong last seq', () => {
    assert.equal(checkPage(page([3, 5]), 4, 10).kind, 'lie', 'an entry at or before the cursor');
    assert.equal(checkPage(page([5, 5]), 4, 10).kind, 'lie', 'a repeated seq');
    assert.equal(checkPage(page([6, 5]), 4, 10).kind, 'lie', 'a decreasing seq');
    const twice = page([5, 6]);
    twice.messages[1] = { seq: 6, item_hash: h(5), status: 'processed' };
    assert.equal(checkPage(twice, 4, 10).kind, 'lie', 'a hash listed twice');
    assert.equal(checkPage(page([5, 6, 7]), 4, 2).kind, 'lie', 'more entries than asked');
    assert.equal(checkPage(page([5, 6], { last_seq: 5 }), 4, 10).kind, 'lie', 'an entry beyond last_seq');
    assert.equal(checkPage(page([5, 6], { next: 5 }), 4, 10).kind, 'lie', 'next before the last entry');
    assert.equal(checkPage(page([5, 6], { next: 99, last_seq: 10 }), 4, 10).kind, 'lie', 'next beyond last_seq');
  });

  it('sees a peer whose sequence is behind the cursor as a reset', () => {
    assert.deepEqual(checkPage(page([], { next: 3, last_seq: 3 }), 40, 10), { kind: 'reset' });
  });

  it('moves the cursor past handled entries only, up to the first gap', () => {
    const entries = page([5, 6, 9, 12]).messages;
    assert.equal(advanceCursor(4, entries, () => true), 12);
    assert.equal(advanceCursor(4, entries, (hash) => hash !== h(9)), 6);
    assert.equal(advanceCursor(4, entries, (hash) => hash !== h(5)), 4);
    assert.equal(advanceCursor(4, [], () => true), 4);
  });

  it('splits hashes into bounded batches', () => {
    assert.deepEqual(batches([1, 2, 3, 4, 5], 2), [[1, 2], [3, 4], [5]]);
    assert.deepEqual(batches([], 3), []);
  });
});

describe('peer score', () => {
  const policy = { baseMs: 1000, maxMs: 8000, banMs: 60_000 };

  it('backs off exponentially up to the bound, and a success clears it', () => {
    const s = new PeerScore(policy);
    assert.equal(s.penalize('transport', 'x', 0), 1000);
    assert.equal(s.penalize('transport', 'x', 0), 2000);
    assert.equal(s.penalize('transport', 'x', 0), 4000);
    assert.equal(s.penalize('transport', 'x', 0), 8000);
    assert.equal(s.penalize('transport', 'x', 0), 8000);
    assert.equal(s.allowed(7999), false);
    assert.equal(s.allowed(8000), true);
    s.succeed();
    assert.equal(s.failures, 0);
    assert.equal(s.penalize('transport', 'x', 10_000), 11_000);
  });

  it('bans a peer whose lies bring its score to the threshold', () => {
    const s = new PeerScore(policy);
    for (let i = 0; i < 3; i++) s.penalize('lie', 'x', 0);
    assert.equal(s.banned(0), false);
    s.penalize('lie', 'x', 0);
    assert.equal(s.banned(0), true);
    assert.equal(s.allowed(59_999), false);
    assert.equal(s.allowed(60_000), true);
    assert.equal(s.score, BAN_SCORE / 2);
    assert.equal(s.counts.lie, 4);
  });

  it('counts several offences at once', () => {
    const s = new PeerScore(policy);
    s.penalize('invalid', 'x', 0, 10);
    assert.equal(s.counts.invalid, 10);
    assert.equal(s.banned(0), true);
    assert.equal(s.failures, 1);
  });
});
