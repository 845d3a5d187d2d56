import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanConsoleLine, ConsoleFollower } from './console-log.ts';

describe('console lines of an instance', () => {
  it('drops the colours and carriage returns systemd writes', () => {
    assert.equal(cleanConsoleLine('[\x1b[0;32m  OK  \x1b[0m] Started \x1b[0;1;39mssh.service\x1b[0m - OpenBSD Secure Shell server.\r'), '[  OK  ] Started ssh.service - OpenBSD Secure Shell server.');
  });

  it('hands over complete lines only, and starts over when the file is truncated', () => {
    const dir = mkdtempSync(join(tmpdir(), 'console-'));
    try {
      const path = join(dir, 'console.log');
      const lines: string[] = [];
      const follower = new ConsoleFollower(path, (line) => lines.push(line));
      follower.poll(); // no file yet
      writeFileSync(path, 'one\ntw');
      follower.poll();
      assert.deepEqual(lines, ['one']);
      appendFileSync(path, 'o\n\nthree\n');
      follower.poll();
      assert.deepEqual(lines, ['one', 'two', 'three']);
      writeFileSync(path, 'retry\n');
      follower.stop();
      assert.deepEqual(lines, ['one', 'two', 'three', 'retry']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
