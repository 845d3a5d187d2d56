/**
 * The byte-level JSON check against `JSON.parse` itself: for random texts, random JSON and JSON
 * with edits, `jsonShape(bytes).valid` is exactly whether `JSON.parse(bytes.toString('utf8'))`
 * succeeds, and never throws.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { fuzzRuns } from '@aleph-nodes/protocol/testing';
import { jsonShape } from './json-shape.ts';

function parses(bytes: Buffer): boolean {
  try {
    JSON.parse(bytes.toString('utf8'));
    return true;
  } catch {
    return false;
  }
}

const edited = fc
  .tuple(fc.json({ maxDepth: 4 }), fc.array(fc.tuple(fc.nat(), fc.constantFrom('{', '}', '[', ']', ',', ':', '"', '\\', ' ', '-', '0', '.', 'e', 'u', 'n', '\u0001', '\u00e9', '\ufeff', ''), fc.boolean()), { maxLength: 3 }))
  .map(([text, edits]) => {
    let s = text;
    for (const [at, ch, replace] of edits) {
      const i = s.length === 0 ? 0 : at % s.length;
      s = s.slice(0, i) + ch + s.slice(replace ? i + 1 : i);
    }
    return Buffer.from(s, 'utf8');
  });

describe('jsonShape (fuzz)', () => {
  it('agrees with JSON.parse', () => {
    fc.assert(
      fc.property(fc.oneof(fc.json().map((s) => Buffer.from(s)), fc.string().map((s) => Buffer.from(s)), fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)), edited), (bytes) => {
        assert.equal(jsonShape(bytes).valid, parses(bytes), JSON.stringify(bytes.toString('latin1')));
      }),
      { numRuns: fuzzRuns() },
    );
  });

  it('counts every value and the nesting of valid documents', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 5 }), (value) => {
        const count = (v: unknown): number =>
          1 + (Array.isArray(v) ? v.reduce((n: number, x) => n + count(x), 0) : typeof v === 'object' && v !== null ? Object.values(v).reduce((n: number, x) => n + count(x), 0) : 0);
        const shape = jsonShape(Buffer.from(JSON.stringify(value)));
        assert.equal(shape.valid, true);
        assert.equal(shape.values, count(value));
      }),
      { numRuns: fuzzRuns() },
    );
  });
});
