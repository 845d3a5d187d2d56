import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CUT_MARK, FrameDecoder, MAX_GUEST_FRAME_BYTES, parseGuestFrame } from './agent-schema.ts';

const VALID: [string, unknown][] = [
  ['hello', { type: 'hello', version: '1.0.0', kernel: '6.1.0-57-cloud-amd64', uptimeMs: 1234 }],
  ['configured ok', { type: 'configured', ok: true }],
  ['configured failed', { type: 'configured', ok: false, error: 'mount failed' }],
  ['ready', { type: 'ready' }],
  ['log stdout', { type: 'log', stream: 'stdout', text: 'hello' }],
  ['log stderr, empty', { type: 'log', stream: 'stderr', text: '' }],
  ['exited with a code', { type: 'exited', code: 3, signal: null }],
  ['exited by a signal', { type: 'exited', code: null, signal: 'SIGKILL' }],
  ['exited, spawn error code', { type: 'exited', code: -2, signal: null }],
  ['halting', { type: 'halting' }],
];

const INVALID: [string, string][] = [
  ['not JSON', 'hello world'],
  ['an array', '[1,2]'],
  ['a string', '"ready"'],
  ['null', 'null'],
  ['no type', '{"ok":true}'],
  ['unknown type', '{"type":"reboot"}'],
  ['type not a string', '{"type":7}'],
  ['unknown key', '{"type":"ready","x":1}'],
  ['__proto__ key', '{"type":"ready","__proto__":{"polluted":1}}'],
  ['kernel too long', JSON.stringify({ type: 'hello', version: '1', kernel: 'k'.repeat(257), uptimeMs: 1 })],
  ['version too long', JSON.stringify({ type: 'hello', version: 'v'.repeat(65), kernel: 'k', uptimeMs: 1 })],
  ['negative uptime', '{"type":"hello","version":"1","kernel":"k","uptimeMs":-1}'],
  ['fractional uptime', '{"type":"hello","version":"1","kernel":"k","uptimeMs":1.5}'],
  ['hello missing kernel', '{"type":"hello","version":"1","uptimeMs":1}'],
  ['error too long', JSON.stringify({ type: 'configured', ok: false, error: 'e'.repeat(4097) })],
  ['failure without error', '{"type":"configured","ok":false}'],
  ['ok not a boolean', '{"type":"configured","ok":"yes"}'],
  ['log text not a string', '{"type":"log","stream":"stdout","text":12}'],
  ['log stream unknown', '{"type":"log","stream":"stdin","text":"x"}'],
  ['exit code a string', '{"type":"exited","code":"0","signal":null}'],
  ['exit code fractional', '{"type":"exited","code":1.5,"signal":null}'],
  ['exit code out of range', '{"type":"exited","code":4294967296,"signal":null}'],
  ['signal not a signal name', '{"type":"exited","code":null,"signal":"rm -rf /"}'],
  ['signal too long', JSON.stringify({ type: 'exited', code: null, signal: `SIG${'A'.repeat(20)}` })],
  ['exited missing signal', '{"type":"exited","code":0}'],
];

describe('guest message schema', () => {
  for (const [name, message] of VALID) {
    it(`accepts ${name}`, () => {
      const result = parseGuestFrame(JSON.stringify(message));
      assert.ok(result?.ok, JSON.stringify(result));
      assert.deepEqual(result.message, message);
    });
  }
  for (const [name, line] of INVALID) {
    it(`rejects ${name}`, () => {
      const result = parseGuestFrame(line);
      assert.ok(result && !result.ok, `accepted: ${line.slice(0, 80)}`);
      assert.ok(result.reason.length <= 400, 'the reason is short');
    });
  }

  it('ignores blank lines and cuts log text to 16 KiB, saying so', () => {
    assert.equal(parseGuestFrame('   '), undefined);
    const result = parseGuestFrame(JSON.stringify({ type: 'log', stream: 'stdout', text: 'x'.repeat(40_000) }));
    assert.ok(result?.ok && result.message.type === 'log');
    assert.equal(result.message.text.length, 16 * 1024);
    assert.ok(result.message.text.endsWith(CUT_MARK));
  });

  it('refuses a line over the frame limit before parsing it', () => {
    const result = parseGuestFrame(JSON.stringify({ type: 'log', stream: 'stdout', text: 'x'.repeat(MAX_GUEST_FRAME_BYTES) }));
    assert.ok(result && !result.ok && /over/.test(result.reason));
  });
});

describe('FrameDecoder', () => {
  it('splits lines across chunks, keeps multi-byte characters whole, and drops an oversized line as it streams', () => {
    const lines: string[] = [];
    const oversized: number[] = [];
    const decoder = new FrameDecoder((l) => lines.push(l.toString('utf8')), (b) => oversized.push(b), 16);
    const bytes = Buffer.from('ab\né€\n' + 'z'.repeat(40) + '\nlast');
    for (let i = 0; i < bytes.length; i++) {
      decoder.push(bytes.subarray(i, i + 1));
      assert.ok(decoder.bufferedBytes <= 16);
    }
    assert.deepEqual(lines, ['ab', 'é€']);
    assert.deepEqual(oversized, [40]);
    assert.equal(decoder.bufferedBytes, 4);
    decoder.push(Buffer.from('\n'));
    assert.deepEqual(lines, ['ab', 'é€', 'last']);
  });
});
