/**
 * Fuzzing the message envelope and every content type: arbitrary JSON and mutations of the
 * messages the SDK sends, into `validateMessage` / `validateStoredContent` (only ProtocolErrors,
 * never another exception) and into POST /api/v0/messages of the real app (never a 5xx, and no
 * accepted message that the pipeline then fails on with an internal error).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { ALEPH_ERROR, buildInlineMessage, EthAccount, isProtocolError, sha256Hex, validateMessage, validateStoredContent, type AlephMessage, type MessageType } from '@aleph-nodes/protocol';
import { fuzzRuns } from '@aleph-nodes/protocol/testing';
import { openTestApi, type TestApi } from '../testing/api.ts';
import { mutate, mutationArb, SDK_TEST_KEY, sdkMessages } from '../testing/fuzz-seeds.ts';

const SEEDS = sdkMessages();
const ACCOUNT = EthAccount.fromPrivateKey(SDK_TEST_KEY);

/** Runs `f`; an exception other than a ProtocolError fails the property. */
function onlyProtocolErrors(f: () => unknown): void {
  try {
    f();
  } catch (err) {
    if (!isProtocolError(err)) throw err;
  }
}

/** A seed's content, mutated and signed again at `now`: it passes the envelope and reaches the content rules. */
function resigned(seedIndex: number, m: Parameters<typeof mutate>[1], now: number): AlephMessage {
  const seed = SEEDS[seedIndex % SEEDS.length];
  assert.ok(seed);
  const content = mutate({ ...seed.content, time: now }, m);
  const doc = typeof content === 'object' && content !== null && !Array.isArray(content) ? (content as Record<string, unknown>) : { value: content };
  return buildInlineMessage(ACCOUNT, seed.message.type as MessageType, doc, { time: now, channel: 'FUZZ' });
}

describe('message validation (fuzz)', () => {
  it('has SDK seeds of every message type', () => {
    assert.deepEqual([...new Set(SEEDS.map((s) => s.message.type))].sort(), ['AGGREGATE', 'FORGET', 'INSTANCE', 'POST', 'PROGRAM', 'STORE']);
  });

  it('arbitrary values and texts: only ProtocolErrors', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.jsonValue(), fc.string(), fc.json()), (input) => onlyProtocolErrors(() => validateMessage(input))),
      { numRuns: fuzzRuns() },
    );
  });

  it('SDK messages with a mutated envelope: only ProtocolErrors', () => {
    fc.assert(
      fc.property(fc.nat(), mutationArb, (pick, m) => {
        const seed = SEEDS[pick % SEEDS.length];
        assert.ok(seed);
        onlyProtocolErrors(() => validateMessage(mutate(seed.message, m), { now: Number(seed.message.time) }));
      }),
      { numRuns: fuzzRuns() },
    );
  });

  it('SDK contents mutated and signed again: only ProtocolErrors, inline and stored', () => {
    const now = Date.now() / 1000;
    fc.assert(
      fc.property(fc.nat(), mutationArb, (pick, m) => {
        const message = resigned(pick, m, now);
        onlyProtocolErrors(() => validateMessage(message, { now }));
        const bytes = new TextEncoder().encode(message.item_content as string);
        const stored = { ...message, item_type: 'storage' as const, item_hash: sha256Hex(bytes) };
        delete (stored as { item_content?: unknown }).item_content;
        onlyProtocolErrors(() => validateStoredContent(stored, bytes, { now }));
      }),
      { numRuns: fuzzRuns() },
    );
  });
});

describe('POST /api/v0/messages (fuzz)', () => {
  let api: TestApi;
  before(async () => {
    api = await openTestApi();
  });
  after(async () => {
    await api.dispose();
  });

  it('never answers 5xx, and the pipeline never fails on what it accepted', async () => {
    const accepted: string[] = [];
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.record({ kind: fc.constant('resigned' as const), pick: fc.nat(), m: mutationArb, sync: fc.boolean() }),
          fc.record({ kind: fc.constant('envelope' as const), pick: fc.nat(), m: mutationArb, sync: fc.boolean() }),
          fc.record({ kind: fc.constant('body' as const), body: fc.jsonValue({ maxDepth: 4 }) }),
          fc.record({ kind: fc.constant('text' as const), text: fc.string({ maxLength: 200 }) }),
        ),
        async (c) => {
          let payload: string;
          if (c.kind === 'body') payload = JSON.stringify(c.body);
          else if (c.kind === 'text') payload = c.text;
          else {
            const fresh = resigned(c.pick, { op: 'add', pick: 0, key: 'fuzz', value: c.pick }, Date.now() / 1000);
            const message = c.kind === 'resigned' ? resigned(c.pick, c.m, Date.now() / 1000) : mutate(fresh as unknown as Record<string, unknown>, c.m);
            payload = JSON.stringify({ sync: false, message });
          }
          const res = await api.app.inject({ method: 'POST', url: '/api/v0/messages', headers: { 'content-type': 'application/json' }, payload });
          assert.ok(res.statusCode < 500, `${res.statusCode} ${res.body}`);
          if (res.statusCode === 200 || res.statusCode === 202) {
            const hash = (JSON.parse(payload) as { message: { item_hash: string } }).message.item_hash;
            accepted.push(hash);
          }
        },
      ),
      { numRuns: fuzzRuns() },
    );
    for (const hash of accepted) {
      await api.processor.waitFor(hash, 30_000);
      const row = await api.stores.messages.get(hash);
      assert.notEqual(row?.error_code, ALEPH_ERROR.INTERNAL, `${hash}: ${row?.error_details}`);
    }
  });
});
