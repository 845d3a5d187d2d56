import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StreamSlots, type StreamLease } from './stream-slots.ts';

function lease(slots: StreamSlots, ip: string): StreamLease {
  const l = slots.admit(ip);
  assert.ok(!('refused' in l), 'admitted');
  return l;
}

describe('stream_logs slots', () => {
  it('caps per address, per execution (once bound) and in total; release frees every slot once', () => {
    const slots = new StreamSlots({ perExecution: 2, perIp: 3, total: 5 });
    const a = [lease(slots, 'a'), lease(slots, 'a'), lease(slots, 'a')];
    assert.deepEqual(slots.admit('a'), { refused: 'too many log streams from this address' });
    assert.equal(a[0]?.bind('x'), undefined);
    assert.equal(a[1]?.bind('x'), undefined);
    assert.equal(a[2]?.bind('x'), 'too many log streams for this execution');
    assert.equal(a[2]?.bind('y'), undefined, 'another execution has its own slots');
    const b = [lease(slots, 'b'), lease(slots, 'b')];
    assert.deepEqual(slots.admit('c'), { refused: 'too many log streams on this node' });
    a[0]?.release();
    a[0]?.release();
    assert.equal(slots.open, 4);
    assert.equal(b[0]?.bind('x'), undefined, 'the released slot of x is free again');
    for (const l of [...a, ...b]) l?.release();
    assert.equal(slots.open, 0);
    lease(slots, 'a');
  });
});
