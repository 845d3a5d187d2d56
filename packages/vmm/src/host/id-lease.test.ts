import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { takeIdLease } from './id-lease.ts';

const dir = mkdtempSync(join(tmpdir(), 'vmm-id-lease-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('leases are exclusive, released by their owner, and taken back from a dead owner', () => {
  const a = takeIdLease(dir, 4);
  const b = takeIdLease(dir, 4);
  assert.deepEqual([a.index, b.index], [0, 1]);
  a.release();
  assert.equal(existsSync(join(dir, '0')), false);
  assert.equal(takeIdLease(dir, 4).index, 0);
  // A lease left by a process that no longer exists (pid 2^22 + 1 is above pid_max's default).
  writeFileSync(join(dir, '2'), '4194305 12345');
  assert.equal(takeIdLease(dir, 4).index, 2, 'the stale lease is reclaimed');
  assert.throws(() => takeIdLease(dir, 4) && takeIdLease(dir, 4), /no free lease/);
});
