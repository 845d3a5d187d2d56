import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildInlineMessage, EthAccount, validateMessage, type AlephMessage } from '@aleph-nodes/protocol';
import { decodeWireMessage, dedupeKeyOf, encodeWireMessage, wireObject } from './wire.ts';

const SENDER = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266';
/** A signed POST (reference test vector 1). */
const VECTOR_POST: AlephMessage = {
  chain: 'ETH',
  sender: SENDER,
  channel: 'TEST',
  time: 1795299904.745,
  item_type: 'inline',
  item_hash: '1b966460e3d334b815ababbbe03f7c62921a6edc5c8ce6f1208d410f393a7e9e',
  item_content: `{"type":"test-post","address":"${SENDER}","content":{"hello":"world","n":1},"time":1795299904.745}`,
  signature:
    '0xc81f4faba264f108bb8937480bb76e15b9e0980adec80fd4042233085a044c4d3ff735800739d2535e01687c4e2074d53f0e73e5736a254dc00e13a8c6f14e551b',
  type: 'POST',
};

/**
 * What pyaleph publishes for it (`format_pending_message_dict` dumped by orjson: no spaces, the
 * pending message's fields with `content` parsed from item_content and `time` as a float).
 */
const PYALEPH_BYTES = new TextEncoder().encode(
  `{"sender":"${SENDER}","chain":"ETH","signature":"${VECTOR_POST.signature}","type":"POST","item_type":"inline","item_hash":"${VECTOR_POST.item_hash}","item_content":${JSON.stringify(VECTOR_POST.item_content)},"channel":"TEST","time":1795299904.745,"content":{"type":"test-post","address":"${SENDER}","content":{"hello":"world","n":1},"time":1795299904.745}}`,
);
const NOW = { now: 1795299904.745 + 60 };

describe('gossip wire format', () => {
  it('reads a pyaleph-published message into the exact signed message', () => {
    const decoded = decodeWireMessage(PYALEPH_BYTES, 262_144);
    assert.ok(decoded.ok);
    const { message } = validateMessage(decoded.message, NOW);
    assert.deepEqual(message, VECTOR_POST);
  });

  it('writes what pyaleph writes (same fields, same values) and reads it back', () => {
    const bytes = encodeWireMessage(VECTOR_POST, 262_144);
    assert.ok(bytes);
    assert.deepEqual(JSON.parse(new TextDecoder().decode(bytes)), JSON.parse(new TextDecoder().decode(PYALEPH_BYTES)));
    const decoded = decodeWireMessage(bytes, 262_144);
    assert.ok(decoded.ok);
    assert.deepEqual(validateMessage(decoded.message, NOW).message, VECTOR_POST);
  });

  it('omits item_content, content and a null channel for non-inline messages', () => {
    const stored: AlephMessage = { ...VECTOR_POST, item_type: 'storage', item_content: null, channel: null, item_hash: 'a'.repeat(64) };
    const obj = wireObject(stored);
    assert.deepEqual(Object.keys(obj), ['sender', 'chain', 'signature', 'type', 'item_type', 'item_hash', 'time']);
  });

  it('accepts a URL-encoded body, and keeps %xx inside a JSON body as it is', () => {
    const quoted = new TextEncoder().encode(encodeURIComponent(new TextDecoder().decode(PYALEPH_BYTES)));
    const decoded = decodeWireMessage(quoted, 262_144);
    assert.ok(decoded.ok);
    assert.deepEqual(validateMessage(decoded.message, NOW).message, VECTOR_POST);

    // pyaleph unquotes every body, which would turn "%41" into "A" and break the hash.
    const account = EthAccount.generate();
    const percent = buildInlineMessage(account, 'POST', { type: 'note', content: { text: 'discount 100%41 off %20' } });
    const bytes = encodeWireMessage(percent, 262_144);
    assert.ok(bytes);
    const back = decodeWireMessage(bytes, 262_144);
    assert.ok(back.ok);
    assert.deepEqual(validateMessage(back.message).message, percent);
  });

  it('refuses what is too large, not UTF-8, not JSON or not an object', () => {
    assert.deepEqual(decodeWireMessage(PYALEPH_BYTES, PYALEPH_BYTES.length - 1), { ok: false, reason: 'too-large' });
    assert.deepEqual(decodeWireMessage(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), 100), { ok: false, reason: 'not-utf8' });
    assert.deepEqual(decodeWireMessage(new TextEncoder().encode('{"sender": '), 100), { ok: false, reason: 'not-json' });
    assert.deepEqual(decodeWireMessage(new TextEncoder().encode('%7B%zz'), 100), { ok: false, reason: 'not-json' });
    assert.deepEqual(decodeWireMessage(new TextEncoder().encode('[1,2]'), 100), { ok: false, reason: 'not-an-object' });
    assert.deepEqual(decodeWireMessage(new TextEncoder().encode('"x"'), 100), { ok: false, reason: 'not-an-object' });
  });

  it('drops the redundant content to fit, and gives up when even that does not fit', () => {
    const full = encodeWireMessage(VECTOR_POST, 262_144);
    assert.ok(full);
    const lean = encodeWireMessage(VECTOR_POST, full.length - 1);
    assert.ok(lean);
    assert.ok(!('content' in (JSON.parse(new TextDecoder().decode(lean)) as object)));
    assert.equal(encodeWireMessage(VECTOR_POST, lean.length - 1), undefined);
  });

  it('keys duplicates on (sender, item_hash, signature) only when the three are strings', () => {
    const decoded = decodeWireMessage(PYALEPH_BYTES, 262_144);
    assert.ok(decoded.ok);
    assert.equal(dedupeKeyOf(decoded.message), `${SENDER}\n${VECTOR_POST.item_hash}\n${VECTOR_POST.signature}`);
    assert.equal(dedupeKeyOf({ ...decoded.message, signature: 5 }), undefined);
    assert.equal(dedupeKeyOf({}), undefined);
  });
});
