import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { VerifiedMessage } from './ccn-client.ts';
import { MessageCache, messageCost } from './message-cache.ts';

const message = (hash: string, bytes: number): VerifiedMessage => ({ message: { item_hash: hash } as VerifiedMessage['message'], content: { pad: 'x'.repeat(bytes) } });

describe('message cache', () => {
  it('is bounded in bytes, oldest first', () => {
    const one = messageCost(message('a', 10_000));
    const cache = new MessageCache(one * 3);
    for (const h of ['a', 'b', 'c', 'd']) cache.set(h, message(h, 10_000));
    assert.equal(cache.get('a'), undefined);
    assert.ok(cache.get('d'));
    assert.ok(cache.bytes <= cache.maxBytes);
    assert.equal(cache.size, 3);
  });

  it('keeps no message larger than the whole budget, and drops one on request', () => {
    const cache = new MessageCache(4096);
    cache.set('big', message('big', 100_000));
    assert.equal(cache.get('big'), undefined);
    assert.equal(cache.bytes, 0);
    cache.set('small', message('small', 10));
    assert.ok(cache.delete('small'));
    assert.equal(cache.get('small'), undefined);
    assert.equal(cache.bytes, 0);
  });
});
