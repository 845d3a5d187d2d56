import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { AuthState } from './auth-state.ts';

function withDb(fn: (path: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'crn-auth-state-'));
  try {
    fn(join(dir, 'crn.sqlite'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('AuthState', () => {
  it('allocation replay state survives a reopen of the database', () => {
    withDb((path) => {
      const db = new Database(path);
      const state = new AuthState(db, { maxOwnerOperations: 100 });
      assert.equal(state.accept('0xsigner', 100, 'd1'), true);
      assert.equal(state.accept('0xsigner', 100, 'd2'), true);
      db.close();
      const db2 = new Database(path);
      const reopened = new AuthState(db2, { maxOwnerOperations: 100 });
      assert.equal(reopened.accept('0xsigner', 100, 'd1'), false, 'already accepted');
      assert.equal(reopened.accept('0xsigner', 99, 'd3'), false, 'older iat');
      assert.equal(reopened.accept('0xsigner', 100, 'd3'), true);
      assert.equal(reopened.accept('0xsigner', 101, 'd1'), true);
      assert.equal(reopened.lastAllocationIat('0xSIGNER'), 101);
      db2.close();
    });
  });

  it('owner operations: single use, remembered across a reopen until they expire, bounded', () => {
    withDb((path) => {
      const db = new Database(path);
      const state = new AuthState(db, { maxOwnerOperations: 100 });
      assert.equal(state.useOwnerOperation('op', 2_000, 1_000), 'accepted');
      assert.equal(state.useOwnerOperation('op', 2_000, 1_500), 'replayed');
      db.close();
      const db2 = new Database(path);
      const reopened = new AuthState(db2, { maxOwnerOperations: 100 });
      assert.equal(reopened.useOwnerOperation('op', 2_000, 1_999), 'replayed');
      // Expired rows are pruned (the operation itself no longer verifies by then).
      assert.equal(reopened.useOwnerOperation('op', 5_000, 2_001), 'accepted');
      for (let i = 0; i < 99; i++) assert.equal(reopened.useOwnerOperation(`k${i}`, 10_000, 3_000), 'accepted');
      assert.equal(reopened.useOwnerOperation('one-more', 10_000, 3_000), 'full');
      assert.equal(reopened.useOwnerOperation('one-more', 20_000, 10_001), 'accepted', 'room again once they expire');
      db2.close();
    });
  });
});
