import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { RetiredMessages } from './retired.ts';

describe('retired messages', () => {
  const dir = mkdtempSync(join(tmpdir(), 'crn-retired-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('are kept on disk, first reason first', () => {
    const path = join(dir, 'crn.sqlite');
    let db = new Database(path);
    new RetiredMessages(db).retire('a'.repeat(64), 'forgotten');
    new RetiredMessages(db).retire('a'.repeat(64), 'rejected');
    db.close();
    db = new Database(path);
    const again = new RetiredMessages(db);
    assert.equal(again.get('a'.repeat(64))?.reason, 'forgotten');
    assert.equal(again.has('b'.repeat(64)), false);
    db.close();
  });
});
