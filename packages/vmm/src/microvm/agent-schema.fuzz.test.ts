import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { fuzzRuns } from '@aleph-nodes/protocol/testing';
import { FrameDecoder, GUEST_FIELD_LIMITS, MAX_GUEST_FRAME_BYTES, parseGuestFrame, type CheckedGuestMessage } from './agent-schema.ts';

/** Every bound a delivered message must respect. */
function checkBounds(message: CheckedGuestMessage): void {
  switch (message.type) {
    case 'hello':
      assert.ok(message.kernel.length <= GUEST_FIELD_LIMITS.kernel && message.version.length <= GUEST_FIELD_LIMITS.version);
      assert.ok(Number.isSafeInteger(message.uptimeMs) && message.uptimeMs >= 0);
      break;
    case 'configured':
      assert.equal(typeof message.ok, 'boolean');
      assert.ok((message.error ?? '').length <= GUEST_FIELD_LIMITS.error);
      break;
    case 'log':
      assert.ok(message.stream === 'stdout' || message.stream === 'stderr');
      assert.ok(message.text.length <= GUEST_FIELD_LIMITS.logText);
      break;
    case 'exited':
      assert.ok(message.code === null || Number.isInteger(message.code));
      assert.ok(message.signal === null || /^SIG[A-Z0-9+-]{1,13}$/.test(message.signal));
      break;
    case 'ready':
    case 'halting':
      assert.deepEqual(Object.keys(message), ['type']);
      break;
  }
}

/** Objects shaped like guest messages, with fields of any type and size. */
const messageLike = fc.record(
  {
    type: fc.oneof(fc.constantFrom('hello', 'configured', 'ready', 'log', 'exited', 'halting'), fc.string()),
    version: fc.oneof(fc.string({ maxLength: 100 }), fc.anything()),
    kernel: fc.oneof(fc.string({ maxLength: 400 }), fc.anything()),
    uptimeMs: fc.oneof(fc.integer(), fc.double(), fc.anything()),
    ok: fc.oneof(fc.boolean(), fc.anything()),
    error: fc.oneof(fc.string({ maxLength: 5000 }), fc.anything()),
    stream: fc.oneof(fc.constantFrom('stdout', 'stderr'), fc.string()),
    text: fc.oneof(fc.string({ maxLength: 20_000 }), fc.anything()),
    code: fc.oneof(fc.integer(), fc.constant(null), fc.double(), fc.anything()),
    signal: fc.oneof(fc.constantFrom('SIGKILL', 'SIGTERM', null), fc.string({ maxLength: 20 }), fc.anything()),
  },
  { requiredKeys: ['type'] },
);

describe('agent protocol decoder and schema (fuzz)', () => {
  it('never throws on any line, and what it delivers is within every bound', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary', maxLength: 2000 }), fc.json(), messageLike.map((m) => JSON.stringify(m)), fc.anything().map((v) => JSON.stringify(v) ?? '')), (line) => {
        const result = parseGuestFrame(line);
        if (result?.ok) checkBounds(result.message);
        else if (result) assert.equal(typeof result.reason, 'string');
      }),
      { numRuns: fuzzRuns() },
    );
  });

  it('any byte stream cut anywhere: memory held stays under the frame limit and every delivered line fits it', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.uint8Array({ maxLength: 4096 }), fc.string({ maxLength: 2000 }).map((s) => new TextEncoder().encode(s + '\n'))), { maxLength: 40 }), fc.integer({ min: 1, max: 4096 }), (chunks, limit) => {
        const decoder = new FrameDecoder(
          (line) => {
            assert.ok(line.length <= limit);
            const result = parseGuestFrame(line);
            if (result?.ok) checkBounds(result.message);
          },
          (bytes) => assert.ok(bytes > limit),
          limit,
        );
        for (const chunk of chunks) {
          decoder.push(Buffer.from(chunk));
          assert.ok(decoder.bufferedBytes <= limit);
        }
      }),
      { numRuns: fuzzRuns() },
    );
    assert.ok(MAX_GUEST_FRAME_BYTES <= 64 * 1024);
  });
});
