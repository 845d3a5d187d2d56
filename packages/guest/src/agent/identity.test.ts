import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkRefresh } from './identity.ts';

const seed = Buffer.alloc(64, 7).toString('base64');

describe('identity refresh (agent)', () => {
  it('accepts a seed, a time and a unicast MAC', () => {
    const checked = checkRefresh({ type: 'refresh', seed, timeMs: 1_800_000_000_000, mac: '52:54:00:AB:00:01' });
    assert.equal(checked.seed.length, 64);
    assert.equal(checked.mac, '52:54:00:ab:00:01');
  });

  it('refuses what it cannot apply safely', () => {
    const good = { type: 'refresh' as const, seed, timeMs: 1_800_000_000_000, mac: '52:54:00:ab:00:01' };
    assert.throws(() => checkRefresh({ ...good, seed: Buffer.alloc(8).toString('base64') }), /seed/);
    assert.throws(() => checkRefresh({ ...good, seed: 'x'.repeat(5000) }), /seed/);
    assert.throws(() => checkRefresh({ ...good, timeMs: -1 }), /timeMs/);
    assert.throws(() => checkRefresh({ ...good, timeMs: 1.5 }), /timeMs/);
    assert.throws(() => checkRefresh({ ...good, mac: '53:54:00:ab:00:01' }), /unicast/);
    assert.throws(() => checkRefresh({ ...good, mac: '52:54:00:ab:00:01; reboot' }), /mac/);
  });
});
