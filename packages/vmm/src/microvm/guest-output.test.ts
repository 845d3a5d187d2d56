import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LogLine } from '../executor.ts';
import { LogLimiter, rotateIfOver } from './guest-output.ts';

describe('console rotation', () => {
  it('copies the file to .1 and empties it once over the size, keeping disk use bounded', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rotate-'));
    try {
      const path = join(dir, 'console.log');
      assert.equal(rotateIfOver(path, 100), false, 'no file yet');
      writeFileSync(path, 'a'.repeat(100));
      assert.equal(rotateIfOver(path, 100), false, 'at the size: kept');
      appendFileSync(path, 'b'.repeat(50));
      assert.equal(rotateIfOver(path, 100), true);
      assert.equal(statSync(path).size, 0);
      assert.equal(readFileSync(`${path}.1`, 'utf8'), 'a'.repeat(100) + 'b'.repeat(50));
      // An appending writer (QEMU's append=on) goes on at the new end.
      appendFileSync(path, 'c'.repeat(120));
      assert.equal(rotateIfOver(path, 100), true);
      assert.equal(readFileSync(`${path}.1`, 'utf8'), 'c'.repeat(120), 'the older copy is replaced, never accumulated');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('LogLimiter', () => {
  const line = (text: string): LogLine => ({ stream: 'stdout', time: 0, text });

  it('passes output within the rate, drops the rest and says how much once there is room again', () => {
    let now = 0;
    const out: string[] = [];
    const limiter = new LogLimiter({ lineMaxChars: 100, logBytesPerSecond: 1000 }, (l) => out.push(l.text), () => now);
    for (let i = 0; i < 50; i++) limiter.push(line('x'.repeat(99))); // 100 bytes each with the newline
    assert.equal(out.length, 10, 'one second of budget');
    assert.equal(limiter.dropped, 4000);
    limiter.flush();
    assert.equal(out.length, 10, 'no room yet: nothing to report');
    now += 500;
    limiter.push(line('after'));
    assert.deepEqual(out.slice(10), ['[4000 bytes of output dropped]', 'after']);
    assert.equal(limiter.dropped, 0);
  });

  it('cuts long lines to the cap, marked, and reports drops at the end', () => {
    const now = 0;
    const out: LogLine[] = [];
    const limiter = new LogLimiter({ lineMaxChars: 50, logBytesPerSecond: 200 }, (l) => out.push(l), () => now);
    limiter.push(line('y'.repeat(500)));
    assert.equal(out[0]!.text.length, 50);
    assert.ok(out[0]!.text.endsWith(' [line cut]'));
    for (let i = 0; i < 10; i++) limiter.push(line('z'.repeat(40)));
    assert.ok(limiter.dropped > 0);
    limiter.countDropped(1000);
    limiter.flush(true);
    assert.match(out.at(-1)!.text, /^\[\d+ bytes of output dropped\]$/);
    assert.equal(out.at(-1)!.stream, 'stderr');
  });
});
