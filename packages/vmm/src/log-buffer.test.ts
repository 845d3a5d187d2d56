import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LogBuffer, MAX_LOG_LINE } from './log-buffer.ts';

test('splits chunks into lines per stream, keeps the last ones, notifies subscribers', () => {
  const logs = new LogBuffer(3);
  const seen: string[] = [];
  const off = logs.subscribe((l) => seen.push(`${l.stream}:${l.text}`));
  logs.write('stdout', 'one\ntw');
  logs.write('stderr', 'err\n');
  logs.write('stdout', 'o\nthree\r\nfour\n');
  off();
  logs.write('stdout', 'five\n');
  assert.deepEqual(seen, ['stdout:one', 'stderr:err', 'stdout:two', 'stdout:three', 'stdout:four']);
  assert.deepEqual(logs.recent().map((l) => l.text), ['three', 'four', 'five']);
  logs.write('stderr', 'unterminated');
  logs.flush();
  assert.equal(logs.recent(1)[0]?.text, 'unterminated');
});

test('is bounded in bytes as well as lines, and cuts lines at 16 KiB', () => {
  const logs = new LogBuffer(1000, 100_000);
  for (let i = 0; i < 100; i++) logs.push({ stream: 'stdout', time: 0, text: 'x'.repeat(50_000) });
  assert.ok(logs.bytes <= 100_000, `${logs.bytes} bytes held`);
  assert.ok(logs.recent().every((l) => l.text.length <= MAX_LOG_LINE));
  assert.equal(logs.recent().length, Math.floor(100_000 / (MAX_LOG_LINE * 2)));
  logs.write('stderr', 'y'.repeat(100_000));
  assert.ok(logs.bytes <= 100_000);
});
