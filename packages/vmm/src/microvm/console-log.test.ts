import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanConsoleLine, ConsoleFollower, MAX_CONSOLE_LINE } from './console-log.ts';

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

  it('never holds more than the line cap of a line without end, and hands it over cut', () => {
    const dir = mkdtempSync(join(tmpdir(), 'console-'));
    try {
      const path = join(dir, 'console.log');
      const lines: string[] = [];
      const follower = new ConsoleFollower(path, (line) => lines.push(line));
      writeFileSync(path, 'start\n');
      for (let i = 0; i < 40; i++) {
        appendFileSync(path, 'x'.repeat(3000));
        follower.poll();
        assert.ok(follower.partialLength <= MAX_CONSOLE_LINE, `partial of ${follower.partialLength}`);
      }
      assert.equal(lines.length, 2);
      assert.equal(lines[1]!.length, MAX_CONSOLE_LINE);
      assert.ok(lines[1]!.endsWith(' [line cut]'));
      // The rest of that line is skipped; the next line comes through whole.
      appendFileSync(path, 'x'.repeat(5000) + '\nnext\n');
      follower.poll();
      assert.deepEqual(lines.slice(2), ['next']);
      assert.equal(follower.partialLength, 0);
      // A single read holding a whole long line is cut the same way.
      appendFileSync(path, 'w'.repeat(100_000) + '\nafter\n');
      follower.poll();
      assert.equal(lines[3]!.length, MAX_CONSOLE_LINE);
      assert.equal(lines[4], 'after');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
