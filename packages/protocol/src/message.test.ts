/**
 * validateMessage against the SDK captures (every file of vectors/sdk-captures, so a new capture
 * is covered automatically) and against tampered variants, each with the error code it must give.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { buildInlineMessage } from './build.ts';
import { programInterface } from './content/program.ts';
import { EthAccount, recoverPersonalSigner } from './crypto/eth.ts';
import { utf8 } from './crypto/hex.ts';
import { sha256Hex } from './crypto/sha256.ts';
import { verificationBuffer, type AlephMessage } from './envelope.ts';
import { ALEPH_ERROR, ProtocolError, type ProtocolErrorCode } from './errors.ts';
import { LIMITS } from './limits.ts';
import { validateMessage, validateStoredContent } from './message.ts';
import type { MessageType } from './content/common.ts';
import { parseContent } from './content/index.ts';

const CAPTURES_DIR = new URL('../vectors/sdk-captures/', import.meta.url);
const TEST_KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';
const TEST_ADDRESS = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266';
const T = 1795299904.745; // time of capture 01, used as "now" for messages built here
const account = EthAccount.fromPrivateKey(TEST_KEY);
const otherAccount = EthAccount.generate();

type Json = Record<string, unknown>;

interface CapturedMessage {
  where: string;
  message: Json;
}

interface CaptureRequest {
  method: string;
  path: string;
  body_json?: Json;
  multipart?: { name: string; json?: Json }[];
}

/** Every message object the SDK sent in the captures: broadcasts, pubsub fallbacks, upload metadata, estimates. */
function capturedMessages(): CapturedMessage[] {
  const out: CapturedMessage[] = [];
  for (const file of readdirSync(CAPTURES_DIR).filter((f) => f.endsWith('.json')).sort()) {
    const capture = JSON.parse(readFileSync(new URL(file, CAPTURES_DIR), 'utf8')) as { requests?: CaptureRequest[] };
    for (const [i, req] of (capture.requests ?? []).entries()) {
      const where = `${file} #${i} ${req.method} ${req.path}`;
      const body = req.body_json;
      if (body && typeof body.message === 'object' && body.message !== null) out.push({ where, message: body.message as Json });
      if (body && typeof body.data === 'object' && body.data !== null) out.push({ where: `${where} (data)`, message: body.data as Json });
      for (const part of req.multipart ?? []) {
        const m = part.json?.message;
        if (typeof m === 'object' && m !== null) out.push({ where: `${where} (multipart ${part.name})`, message: m as Json });
      }
    }
  }
  return out;
}

const ALL = capturedMessages();
/** Signed messages; the price estimates carry an unsigned message without sender, chain or time. */
const SIGNED = ALL.filter((c) => typeof c.message.signature === 'string');
const UNSIGNED = ALL.filter((c) => typeof c.message.signature !== 'string');

function captured(file: string, type: MessageType): Json {
  const found = SIGNED.find((c) => c.where.startsWith(file) && c.message.type === type);
  assert.ok(found, `no ${type} message in ${file}`);
  return structuredClone(found.message);
}

function nowOf(m: Json): number {
  return typeof m.time === 'number' ? m.time : T;
}

/** Asserts that validating `input` throws a ProtocolError with `code` and the matching Aleph code. */
function assertRejects(input: unknown, code: ProtocolErrorCode, opts: { now?: number; maxFutureSeconds?: number } = {}): ProtocolError {
  let thrown: unknown;
  try {
    validateMessage(input, { now: opts.now ?? T, ...(opts.maxFutureSeconds !== undefined ? { maxFutureSeconds: opts.maxFutureSeconds } : {}) });
  } catch (err) {
    thrown = err;
  }
  assert.ok(thrown !== undefined, `expected ${code}, but the message was accepted`);
  assert.ok(thrown instanceof ProtocolError, `expected a ProtocolError, got ${String(thrown)}`);
  assert.equal(thrown.code, code, `expected ${code}, got ${thrown.code}: ${thrown.message}`);
  const expectedAleph = code === 'INVALID_SIGNATURE' ? ALEPH_ERROR.INVALID_SIGNATURE : ALEPH_ERROR.INVALID_FORMAT;
  assert.equal(thrown.alephCode, expectedAleph);
  return thrown;
}

/** Signs an inline message whose item_content is exactly `itemContent` (any text), like the SDK would. */
function signText(type: string, itemContent: string, signer: EthAccount = account, extra: Json = {}): Json {
  const unsigned = { chain: 'ETH', sender: signer.address, type, time: T, item_type: 'inline', item_content: itemContent, item_hash: sha256Hex(itemContent), ...extra };
  return { ...unsigned, signature: signer.signPersonal(verificationBuffer(unsigned as AlephMessage)) };
}

/** A signed inline message with `content` (address and time added). */
function signContent(type: MessageType, content: Json): Json {
  return buildInlineMessage(account, type, content, { time: T, channel: 'TEST' }) as unknown as Json;
}

const RUNTIME = '63f07193e6ee9d207b7d1fcf8286f9aee34e6f12f101d2ec77c1229f92964696';
const ROOTFS = 'f7e68c568906b4ebcd3cd3c4bfdff96c489cd2a9ef73ba2d7503f244dfd578de';
const NODE_HASH = 'a'.repeat(64);
const CID = 'QmUZqXdAEGHBUWT7x25uB75RsGyj9j7V4UbJxpH4JjSvLL';

function programContent(extra: Json = {}): Json {
  return {
    type: 'vm-function',
    allow_amend: false,
    code: { encoding: 'zip', entrypoint: 'main:app', ref: 'b'.repeat(64) },
    runtime: { ref: RUNTIME, comment: 'runtime' },
    on: { http: true },
    ...extra,
  };
}

function instanceContent(extra: Json = {}, environment: Json = {}): Json {
  return {
    allow_amend: false,
    environment: { hypervisor: 'qemu', ...environment },
    rootfs: { parent: { ref: ROOTFS }, persistence: 'host', size_mib: 20_480 },
    ...extra,
  };
}

function flipHexChar(hex: string, index: number): string {
  const c = hex[index];
  return hex.slice(0, index) + (c === '0' ? '1' : '0') + hex.slice(index + 1);
}

describe('SDK captures', () => {
  test('the capture directory yields signed messages of every type', () => {
    // Guards the loops below against silently iterating over nothing.
    assert.ok(SIGNED.length >= 20, `only ${SIGNED.length} signed messages found`);
    const types = new Set(SIGNED.map((c) => c.message.type));
    for (const t of ['POST', 'AGGREGATE', 'STORE', 'PROGRAM', 'INSTANCE', 'FORGET']) assert.ok(types.has(t), `no captured ${t}`);
    assert.ok(SIGNED.some((c) => c.where.includes('multipart metadata')), 'no STORE inside multipart metadata');
    assert.ok(SIGNED.some((c) => c.message.item_type === 'storage'), 'no storage-engine message');
  });

  for (const { where, message } of SIGNED) {
    test(`validates: ${where}`, () => {
      const { message: m, content } = validateMessage(message, { now: nowOf(message) });
      assert.equal(m.item_hash, message.item_hash);
      assert.equal(m.sender, message.sender);
      assert.equal(m.type, message.type);
      const signer = recoverPersonalSigner(utf8(verificationBuffer(m)), m.signature);
      assert.equal(signer, message.sender);
      if (m.item_type === 'inline') {
        assert.ok(content, 'inline messages come back with their parsed content');
        assert.equal(sha256Hex(m.item_content as string), m.item_hash);
        assert.equal((content as { address: string }).address.toLowerCase(), String(message.sender).toLowerCase());
      } else {
        assert.equal(content, undefined, 'non-inline content is only known once fetched');
      }
      // The JSON text form is accepted as well as the object.
      assert.equal(validateMessage(JSON.stringify(message), { now: nowOf(message) }).message.item_hash, message.item_hash);
    });
  }

  for (const { where, message } of SIGNED) {
    test(`rejects a changed sender, item_hash and foreign signature: ${where}`, () => {
      const now = nowOf(message);
      assertRejects({ ...message, sender: otherAccount.address }, 'INVALID_SIGNATURE', { now });
      const hash = String(message.item_hash);
      if (message.item_type === 'inline') {
        assertRejects({ ...message, item_hash: flipHexChar(hash, 10) }, 'ITEM_HASH_MISMATCH', { now });
      } else {
        assertRejects({ ...message, item_hash: flipHexChar(hash, 10) }, 'INVALID_SIGNATURE', { now });
      }
      const foreign = otherAccount.signPersonal(verificationBuffer(message as unknown as AlephMessage));
      assertRejects({ ...message, signature: foreign }, 'INVALID_SIGNATURE', { now });
    });
  }

  test('messages as the API serves them (response side: content, confirmations, null item_content) validate too', () => {
    // CRNs and other consumers read messages from API output, node-added fields included.
    let seen = 0;
    for (const file of readdirSync(CAPTURES_DIR).filter((f) => f.endsWith('.json'))) {
      const capture = JSON.parse(readFileSync(new URL(file, CAPTURES_DIR), 'utf8')) as { requests?: { response?: { json?: Json } }[] };
      for (const req of capture.requests ?? []) {
        const body = req.response?.json;
        const served = [...(Array.isArray(body?.messages) ? body.messages : []), ...(body?.message ? [body.message] : [])] as Json[];
        for (const m of served.filter((x) => typeof x.signature === 'string')) {
          const { message } = validateMessage(m, { now: nowOf(m) });
          assert.equal(message.item_hash, m.item_hash, file);
          seen++;
        }
      }
    }
    assert.ok(seen >= 10, `only ${seen} served messages found`);
  });

  test('PROGRAM contents parse with their defaults', () => {
    const programs = SIGNED.filter((c) => c.message.type === 'PROGRAM');
    assert.ok(programs.length >= 3);
    for (const { where, message } of programs) {
      const content = validateMessage(message, { now: nowOf(message) }).content as Json & { code: { entrypoint: string; encoding: 'zip'; ref: string; use_latest: boolean } };
      assert.equal(content.type, 'vm-function', where);
      assert.deepEqual(Object.keys(content.environment as Json).sort(), ['aleph_api', 'internet', 'reproducible', 'shared_cache']);
      const resources = content.resources as { vcpus: number; memory: number; seconds: number };
      assert.ok(resources.vcpus >= 1 && resources.memory >= 128 && resources.seconds === 30, where);
      assert.ok(Array.isArray(content.volumes));
      assert.equal(typeof content.code.use_latest, 'boolean');
      assert.equal((content.runtime as { use_latest: boolean }).use_latest, true);
      assert.equal(programInterface(content.code), 'asgi', 'main:app is an ASGI entrypoint');
    }
  });

  test('INSTANCE contents parse with their defaults', () => {
    const instances = SIGNED.filter((c) => c.message.type === 'INSTANCE');
    assert.ok(instances.length >= 2);
    for (const { where, message } of instances) {
      const content = validateMessage(message, { now: nowOf(message) }).content as Json;
      const env = content.environment as Json;
      assert.equal(env.hypervisor, 'qemu', where);
      assert.equal(env.trusted_execution, undefined);
      assert.deepEqual(content.volumes, []);
      assert.equal((content.rootfs as { parent: { use_latest: boolean } }).parent.use_latest, true);
    }
    // The SDK's default instance pays with credits and has no requirements: valid (aleph-protocol.md §4.2).
    const dflt = validateMessage(captured('12-', 'INSTANCE'), { now: nowOf(captured('12-', 'INSTANCE')) }).content as Json;
    assert.deepEqual(dflt.payment, { chain: 'ETH', type: 'credit' });
    assert.equal(dflt.requirements, undefined);
  });

  test('the unsigned price-estimate messages parse as content', () => {
    assert.ok(UNSIGNED.length >= 2);
    for (const { where, message } of UNSIGNED) {
      const text = String(message.item_content);
      assert.equal(sha256Hex(text), message.item_hash, where);
      const content = parseContent(message.type as MessageType, JSON.parse(text)) as Json;
      assert.equal(typeof content.address, 'string');
      // Unsigned: validateMessage must refuse it, with a typed error.
      assertRejects(message, 'INVALID_ENVELOPE', { now: nowOf(message) });
    }
  });

  test('the storage-engine POST content (add_json body) validates against its item_hash', () => {
    const file = '04-post-storage-engine.json';
    const capture = JSON.parse(readFileSync(new URL(file, CAPTURES_DIR), 'utf8')) as { requests: CaptureRequest[] };
    const body = capture.requests.find((r) => r.path === '/api/v0/storage/add_json')?.body_json;
    assert.ok(body);
    const message = captured(file, 'POST');
    const { message: m } = validateMessage(message, { now: nowOf(message) });
    // The SDK posts JSON.stringify(content); the node stores those exact bytes.
    const bytes = utf8(JSON.stringify(body));
    const content = validateStoredContent(m, bytes, { now: nowOf(message) });
    assert.deepEqual(content, { ...body });
  });
});

describe('tampered messages', () => {
  const post = (): Json => captured('01-', 'POST');
  const storagePost = (): Json => captured('04-', 'POST');

  test('the untampered base message is valid (so each rejection below is caused by its change)', () => {
    assert.doesNotThrow(() => validateMessage(post(), { now: T }));
    assert.doesNotThrow(() => validateMessage(storagePost(), { now: nowOf(storagePost()) }));
  });

  test('sender lowercased: the buffer covers the sender byte for byte', () => {
    assertRejects({ ...post(), sender: TEST_ADDRESS.toLowerCase() }, 'INVALID_SIGNATURE');
  });

  test('sender that is not an Ethereum address', () => {
    assertRejects({ ...post(), sender: 'not-an-address' }, 'INVALID_ENVELOPE');
  });

  test('type changed on an inline message: the content no longer fits the declared type', () => {
    // Format checks (content schema) run before the signature, as in the reference pipeline;
    // a POST content is not a valid AGGREGATE content.
    assertRejects({ ...post(), type: 'AGGREGATE' }, 'INVALID_CONTENT');
  });

  test('type changed on a storage message: only the signature can catch it', () => {
    assertRejects({ ...storagePost(), type: 'AGGREGATE' }, 'INVALID_SIGNATURE', { now: nowOf(storagePost()) });
  });

  test('one byte of item_content changed', () => {
    const m = post();
    const text = String(m.item_content);
    assertRejects({ ...m, item_content: text.replace('world', 'worle') }, 'ITEM_HASH_MISMATCH');
  });

  test('item_content changed and item_hash recomputed: the signature no longer matches', () => {
    const m = post();
    const text = String(m.item_content).replace('world', 'worle');
    assertRejects({ ...m, item_content: text, item_hash: sha256Hex(text) }, 'INVALID_SIGNATURE');
  });

  test('channel and time are not signed: changing them keeps the message valid', () => {
    const m = post();
    assert.doesNotThrow(() => validateMessage({ ...m, channel: 'OTHER', time: T - 10 }, { now: T }));
  });

  test('truncated signature', () => {
    const m = post();
    assertRejects({ ...m, signature: String(m.signature).slice(0, 120) }, 'INVALID_SIGNATURE');
  });

  test('signature with non-hex characters', () => {
    const m = post();
    assertRejects({ ...m, signature: `0x${'zz'}${String(m.signature).slice(4)}` }, 'BAD_HEX');
  });

  test('signature without the 0x prefix', () => {
    const m = post();
    assertRejects({ ...m, signature: String(m.signature).slice(2) }, 'INVALID_SIGNATURE');
  });

  test('recovery byte v = 29', () => {
    const m = post();
    assertRejects({ ...m, signature: `${String(m.signature).slice(0, -2)}1d` }, 'INVALID_SIGNATURE');
  });

  test('r changed', () => {
    const m = post();
    assertRejects({ ...m, signature: flipHexChar(String(m.signature), 20) }, 'INVALID_SIGNATURE');
  });

  test('recovery byte v = 0 / 1 accepted like 27 / 28', () => {
    const m = post();
    const sig = String(m.signature);
    const v = parseInt(sig.slice(-2), 16);
    assert.ok(v === 27 || v === 28);
    const low = `${sig.slice(0, -2)}${(v - 27).toString(16).padStart(2, '0')}`;
    assert.doesNotThrow(() => validateMessage({ ...m, signature: low }, { now: T }));
    // And the other low value recovers a different key.
    const wrong = `${sig.slice(0, -2)}${(28 - v).toString(16).padStart(2, '0')}`;
    assertRejects({ ...m, signature: wrong }, 'INVALID_SIGNATURE');
  });

  test('wrong (EVM) chain: the buffer changes', () => {
    assertRejects({ ...post(), chain: 'BSC' }, 'INVALID_SIGNATURE');
  });

  test('unknown chain', () => {
    assertRejects({ ...post(), chain: 'FOO' }, 'UNSUPPORTED_CHAIN');
  });

  test('known chain whose signatures nobody verifies (STT)', () => {
    assertRejects({ ...post(), chain: 'STT' }, 'UNSUPPORTED_CHAIN');
  });

  test('an Ethereum signature under a non-EVM chain (SOL) is a refused signature', () => {
    assertRejects({ ...post(), chain: 'SOL' }, 'INVALID_SIGNATURE');
  });

  test('unknown message type', () => {
    assertRejects({ ...post(), type: 'VOTE' }, 'UNKNOWN_MESSAGE_TYPE');
  });

  test('item_type inline without item_content', () => {
    const m = post();
    delete m.item_content;
    assertRejects(m, 'INVALID_ENVELOPE');
    assertRejects({ ...post(), item_content: null }, 'INVALID_ENVELOPE');
  });

  test('storage message with item_content', () => {
    const m = storagePost();
    assertRejects({ ...m, item_content: '{}' }, 'INVALID_ENVELOPE', { now: nowOf(m) });
  });

  test('item_type absent: inferred inline from item_content, storage from the hash', () => {
    const inline = post();
    delete inline.item_type;
    assert.equal(validateMessage(inline, { now: T }).message.item_type, 'inline');
    const stored = storagePost();
    delete stored.item_type;
    assert.equal(validateMessage(stored, { now: nowOf(stored) }).message.item_type, 'storage');
  });

  test('item_type not matching the hash shape', () => {
    const m = storagePost();
    assertRejects({ ...m, item_type: 'ipfs' }, 'INVALID_ITEM_TYPE', { now: nowOf(m) });
    assertRejects({ ...m, item_type: 'storage', item_hash: CID }, 'INVALID_ITEM_TYPE', { now: nowOf(m) });
  });

  test('unknown item_type', () => {
    assertRejects({ ...post(), item_type: 'carrier-pigeon' }, 'INVALID_ENVELOPE');
  });

  test('uppercase hex item_hash (inline and storage)', () => {
    const m = post();
    assertRejects({ ...m, item_hash: String(m.item_hash).toUpperCase() }, 'INVALID_ITEM_HASH');
    const s = storagePost();
    assertRejects({ ...s, item_hash: String(s.item_hash).toUpperCase() }, 'INVALID_ITEM_HASH', { now: nowOf(s) });
    const noType = storagePost();
    delete noType.item_type;
    assertRejects({ ...noType, item_hash: String(noType.item_hash).toUpperCase() }, 'INVALID_ITEM_HASH', { now: nowOf(noType) });
  });

  test('inline message whose item_hash is a CID', () => {
    assertRejects({ ...post(), item_hash: CID }, 'INVALID_ITEM_HASH');
  });

  test('inline content over 200,000 characters; exactly 200,000 accepted', () => {
    const skeleton = (pad: string) => JSON.stringify({ address: account.address, time: T, type: 'big', content: { pad } });
    const overhead = skeleton('').length;
    const exact = skeleton('x'.repeat(LIMITS.inlineContentChars - overhead));
    assert.equal(exact.length, LIMITS.inlineContentChars);
    assert.doesNotThrow(() => validateMessage(signText('POST', exact), { now: T }));
    const over = skeleton('x'.repeat(LIMITS.inlineContentChars - overhead + 1));
    const err = assertRejects(signText('POST', over), 'CONTENT_TOO_LONG');
    assert.match(err.message, /200001/);
  });

  test('the length limit counts characters, not UTF-16 units', () => {
    // 100,000 emoji are 200,000 UTF-16 units but 100,000 characters (Python's len in the reference).
    const text = JSON.stringify({ address: account.address, time: T, type: 'emoji', content: '😀'.repeat(100_000) });
    assert.ok(text.length > LIMITS.inlineContentChars);
    assert.doesNotThrow(() => validateMessage(signText('POST', text), { now: T }));
  });

  test('content nested deeper than 512 levels (it would break JSON.stringify downstream)', () => {
    const nested = (k: number) => `{"address":"${account.address}","time":${T},"type":"t","content":${'['.repeat(k)}${']'.repeat(k)}}`;
    // The outer object is level 1, so k arrays make k + 1 levels.
    assert.doesNotThrow(() => validateMessage(signText('POST', nested(LIMITS.contentJsonDepth - 1)), { now: T }));
    assertRejects(signText('POST', nested(LIMITS.contentJsonDepth)), 'INVALID_CONTENT');
    assertRejects(signText('POST', nested(99_000)), 'INVALID_CONTENT');
    // Brackets and escaped quotes inside strings do not count.
    const inStrings = JSON.stringify({ address: account.address, time: T, type: 't', content: { s: `\\"${'['.repeat(2000)}`, t: '"{{{{' } });
    assert.doesNotThrow(() => validateMessage(signText('POST', inStrings), { now: T }));
  });

  test('malformed JSON text as the message', () => {
    assertRejects('{"chain": "ETH",', 'INVALID_JSON');
    assertRejects('', 'INVALID_JSON');
  });

  test('item_content that is not JSON (correctly hashed and signed)', () => {
    assertRejects(signText('POST', 'hello, not json'), 'INVALID_JSON');
  });

  test('item_content that is JSON but not an object', () => {
    assertRejects(signText('POST', '[1,2,3]'), 'INVALID_CONTENT');
    assertRejects(signText('POST', 'null'), 'INVALID_CONTENT');
  });

  test('unknown top-level content field on POST / AGGREGATE / PROGRAM / INSTANCE / FORGET', () => {
    assertRejects(signContent('POST', { type: 't', content: {}, extra: 1 }), 'INVALID_CONTENT');
    assertRejects(signContent('AGGREGATE', { key: 'k', content: {}, extra: 1 }), 'INVALID_CONTENT');
    assertRejects(signContent('PROGRAM', programContent({ extra: 1 })), 'INVALID_CONTENT');
    assertRejects(signContent('INSTANCE', instanceContent({ extra: 1 })), 'INVALID_CONTENT');
    assertRejects(signContent('FORGET', { hashes: [NODE_HASH], extra: 1 }), 'INVALID_CONTENT');
    // Without the extra field each of these is valid.
    for (const [type, content] of [
      ['POST', { type: 't', content: {} }],
      ['AGGREGATE', { key: 'k', content: {} }],
      ['PROGRAM', programContent()],
      ['INSTANCE', instanceContent()],
      ['FORGET', { hashes: [NODE_HASH] }],
    ] as const) {
      assert.doesNotThrow(() => validateMessage(signContent(type, content), { now: T }), type);
    }
  });

  test('STORE drops unknown top-level fields (the SDK may add extra_fields)', () => {
    const m = signContent('STORE', { item_type: 'storage', item_hash: NODE_HASH, extra_fields: { a: 1 } });
    const content = validateMessage(m, { now: T }).content as Json;
    assert.equal(content.extra_fields, undefined);
    assert.equal(content.item_hash, NODE_HASH);
  });

  test('STORE whose content item_type does not match its item_hash', () => {
    assertRejects(signContent('STORE', { item_type: 'ipfs', item_hash: NODE_HASH }), 'INVALID_CONTENT');
  });

  test('envelope time as a string', () => {
    assertRejects({ ...post(), time: String(T) }, 'INVALID_ENVELOPE');
  });

  test('content time as a string', () => {
    const text = JSON.stringify({ address: account.address, time: String(T), type: 't' });
    assertRejects(signText('POST', text), 'INVALID_CONTENT');
  });

  test('missing envelope fields', () => {
    for (const field of ['chain', 'sender', 'type', 'time', 'item_hash', 'signature']) {
      const m = post();
      delete m[field];
      assertRejects(m, 'INVALID_ENVELOPE');
    }
  });

  test('far-future envelope time and content time', () => {
    const m = post();
    assertRejects(m, 'TIME_IN_FUTURE', { now: T - 7200 });
    // Within the allowance it is fine.
    assert.doesNotThrow(() => validateMessage(m, { now: T - 1800 }));
    assertRejects(m, 'TIME_IN_FUTURE', { now: T - 1800, maxFutureSeconds: 60 });
    // Content time far ahead, envelope time now (time is not signed, but content is hashed).
    const text = JSON.stringify({ address: account.address, time: T + 86_400, type: 't' });
    assertRejects(signText('POST', text), 'TIME_IN_FUTURE');
  });

  test('amend without ref; with ref accepted', () => {
    assertRejects(signContent('POST', { type: 'amend', content: { a: 1 } }), 'INVALID_CONTENT');
    assert.doesNotThrow(() => validateMessage(signContent('POST', { type: 'amend', content: { a: 1 }, ref: NODE_HASH }), { now: T }));
  });

  test('FORGET of 1001 hashes; 1000 accepted', () => {
    const hashes = (n: number) => Array.from({ length: n }, (_, i) => sha256Hex(String(i)));
    assertRejects(signContent('FORGET', { hashes: hashes(1001) }), 'INVALID_CONTENT');
    const ok = validateMessage(signContent('FORGET', { hashes: hashes(1000) }), { now: T }).content as Json;
    assert.deepEqual(ok.aggregates, [], 'aggregates defaults to []');
  });

  test('FORGET with a malformed hash', () => {
    assertRejects(signContent('FORGET', { hashes: ['not-a-hash'] }), 'INVALID_CONTENT');
  });

  test('variables over limits', () => {
    const many = Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`V${i}`, 'x']));
    assertRejects(signContent('PROGRAM', programContent({ variables: many })), 'INVALID_CONTENT');
    assertRejects(signContent('PROGRAM', programContent({ variables: { ['K'.repeat(129)]: 'x' } })), 'INVALID_CONTENT');
    assertRejects(signContent('PROGRAM', programContent({ variables: { K: 'v'.repeat(4097) } })), 'INVALID_CONTENT');
    assertRejects(signContent('INSTANCE', instanceContent({ variables: { K: 1 } })), 'INVALID_CONTENT');
    // At the limits: accepted (checked on the content alone: 256 × 4096 characters would not fit inline).
    const max = Object.fromEntries(Array.from({ length: 256 }, (_, i) => [`${'K'.repeat(124)}${String(i).padStart(4, '0')}`, 'v'.repeat(4096)]));
    assert.doesNotThrow(() => parseContent('PROGRAM', { address: account.address, time: T, ...programContent({ variables: max }) }));
  });

  test('volume with unknown keys', () => {
    assertRejects(signContent('PROGRAM', programContent({ volumes: [{ ref: NODE_HASH, mount: '/data', size: 1 }] })), 'INVALID_CONTENT');
    assertRejects(signContent('INSTANCE', instanceContent({ volumes: [{ ephemeral: true, size_mib: 10, persistence: 'host' }] })), 'INVALID_CONTENT');
    assertRejects(signContent('INSTANCE', instanceContent({ volumes: [{ ephemeral: true, size_mib: 1001 }] })), 'INVALID_CONTENT');
  });

  test('INSTANCE with credit payment and requirements but no node_hash', () => {
    assertRejects(signContent('INSTANCE', instanceContent({ payment: { type: 'credit' }, requirements: { cpu: { architecture: 'x86_64' } } })), 'INVALID_CONTENT');
    assertRejects(signContent('INSTANCE', instanceContent({ payment: { type: 'superfluid' }, requirements: {} })), 'INVALID_CONTENT');
    assert.doesNotThrow(() =>
      validateMessage(signContent('INSTANCE', instanceContent({ payment: { type: 'credit' }, requirements: { node: { node_hash: NODE_HASH } } })), { now: T }),
    );
  });

  test('INSTANCE with a GPU requirement but no qemu', () => {
    const gpu = [{ vendor: 'NVIDIA', device_name: 'RTX', device_class: '0300', device_id: '10de:2684' }];
    const requirements = { node: { node_hash: NODE_HASH }, gpu };
    assertRejects(signContent('INSTANCE', instanceContent({ requirements }, { hypervisor: 'firecracker' })), 'INVALID_CONTENT');
    assertRejects(signContent('INSTANCE', instanceContent({ requirements: { gpu } })), 'INVALID_CONTENT');
    assert.doesNotThrow(() => validateMessage(signContent('INSTANCE', instanceContent({ requirements })), { now: T }));
  });

  test('INSTANCE with trusted_execution but no qemu (with or without requirements)', () => {
    assertRejects(signContent('INSTANCE', instanceContent({}, { hypervisor: 'firecracker', trusted_execution: {} })), 'INVALID_CONTENT');
    assertRejects(signContent('INSTANCE', instanceContent({}, { hypervisor: null, trusted_execution: { policy: 1 } })), 'INVALID_CONTENT');
    const ok = validateMessage(signContent('INSTANCE', instanceContent({}, { trusted_execution: {} })), { now: T }).content as Json;
    assert.deepEqual((ok.environment as Json).trusted_execution, { policy: 1 });
  });

  test('INSTANCE terms_and_conditions need node_hash and a paid or confidential execution', () => {
    const node = { node_hash: NODE_HASH, terms_and_conditions: NODE_HASH };
    assertRejects(signContent('INSTANCE', instanceContent({ payment: { type: 'hold' }, requirements: { node } })), 'INVALID_CONTENT');
    assert.doesNotThrow(() => validateMessage(signContent('INSTANCE', instanceContent({ payment: { type: 'credit' }, requirements: { node } })), { now: T }));
  });

  test('requirements reject unknown keys', () => {
    assertRejects(signContent('INSTANCE', instanceContent({ requirements: { node: { node_hash: NODE_HASH, colour: 'blue' } } })), 'INVALID_CONTENT');
    assertRejects(signContent('INSTANCE', instanceContent({ requirements: { disk: {} } })), 'INVALID_CONTENT');
  });

  test('PROGRAM on.* rejects unknown keys; wrong resources types rejected', () => {
    assertRejects(signContent('PROGRAM', programContent({ on: { http: true, cron: '* * * * *' } })), 'INVALID_CONTENT');
    assertRejects(signContent('PROGRAM', programContent({ resources: { vcpus: '2' } })), 'INVALID_CONTENT');
    assertRejects(signContent('PROGRAM', programContent({ resources: { vcpus: 0 } })), 'INVALID_CONTENT');
  });

  test('null, arrays, numbers and strings are not messages', () => {
    for (const value of [null, undefined, [], [{}], 42, true, 'null', '[]', '42', '"text"']) {
      assertRejects(value, 'INVALID_ENVELOPE');
    }
  });

  test('channel over 128 characters; hash_type other than sha256', () => {
    assertRejects({ ...post(), channel: 'c'.repeat(129) }, 'INVALID_ENVELOPE');
    assertRejects({ ...post(), hash_type: 'md5' }, 'INVALID_ENVELOPE');
    assert.doesNotThrow(() => validateMessage({ ...post(), hash_type: 'sha256' }, { now: T }));
  });

  test('node-added fields in a submission are ignored, never trusted', () => {
    const m = post();
    const { message, content } = validateMessage({ ...m, content: { forged: true }, size: 1, confirmed: true, confirmations: [] }, { now: T });
    assert.equal((content as Json).forged, undefined);
    assert.equal('content' in message, false);
  });

  test('whatever garbage goes in a field, only ProtocolErrors come out', () => {
    const weird: unknown[] = [null, 0, -1, 1e308, '', 'x'.repeat(5000), [], {}, { toString: 1 }, true, ['ETH']];
    const fields = ['chain', 'sender', 'type', 'channel', 'time', 'item_type', 'item_content', 'item_hash', 'signature', 'hash_type'];
    let rejected = 0;
    for (const field of fields) {
      for (const value of weird) {
        try {
          validateMessage({ ...post(), [field]: value }, { now: T });
        } catch (err) {
          assert.ok(err instanceof ProtocolError, `${field}=${JSON.stringify(value)?.slice(0, 40)} threw ${String(err)}`);
          rejected++;
        }
      }
    }
    assert.ok(rejected > fields.length * weird.length * 0.8, `only ${rejected} variants rejected`);
  });
});

describe('validateStoredContent', () => {
  const bytes = utf8(JSON.stringify({ address: account.address, time: T, type: 'stored', content: { a: 1 } }));
  const message = (hash: string): AlephMessage & { type: 'POST' } => ({
    chain: 'ETH', sender: account.address, type: 'POST', time: T, item_type: 'storage', item_hash: hash, signature: '0x',
  });

  test('accepts bytes that hash to item_hash', () => {
    const content = validateStoredContent(message(sha256Hex(bytes)), bytes, { now: T });
    assert.equal(content.type, 'stored');
  });

  test('rejects bytes that do not hash to item_hash', () => {
    assert.throws(() => validateStoredContent(message(NODE_HASH), bytes, { now: T }), (e) => e instanceof ProtocolError && e.code === 'ITEM_HASH_MISMATCH');
  });

  test('rejects stored bytes that are not JSON, or not valid content', () => {
    const notJson = utf8('not json');
    assert.throws(() => validateStoredContent(message(sha256Hex(notJson)), notJson), (e) => e instanceof ProtocolError && e.code === 'INVALID_JSON');
    const bad = utf8(JSON.stringify({ address: account.address, time: T }));
    assert.throws(() => validateStoredContent(message(sha256Hex(bad)), bad), (e) => e instanceof ProtocolError && e.code === 'INVALID_CONTENT');
  });

  test('rejects stored content nested too deeply', () => {
    const deep = utf8(`{"address":"${account.address}","time":${T},"type":"t","content":${'{"a":'.repeat(1000)}1${'}'.repeat(1000)}}`);
    assert.throws(() => validateStoredContent(message(sha256Hex(deep)), deep, { now: T }), (e) => e instanceof ProtocolError && e.code === 'INVALID_CONTENT');
  });

  test('rejects stored content with a far-future time', () => {
    const future = utf8(JSON.stringify({ address: account.address, time: T + 86_400, type: 't' }));
    assert.throws(() => validateStoredContent(message(sha256Hex(future)), future, { now: T }), (e) => e instanceof ProtocolError && e.code === 'TIME_IN_FUTURE');
  });
});

describe('buildInlineMessage', () => {
  test('round-trips through validateMessage for every type', () => {
    const contents: [MessageType, Json][] = [
      ['POST', { type: 'note', content: { text: 'héllo 😀' } }],
      ['AGGREGATE', { key: { name: 'profile' }, content: { a: 1 } }],
      ['STORE', { item_type: 'ipfs', item_hash: CID }],
      ['PROGRAM', programContent()],
      ['INSTANCE', instanceContent()],
      ['FORGET', { hashes: [NODE_HASH], reason: 'cleanup' }],
    ];
    for (const [type, content] of contents) {
      const built = buildInlineMessage(account, type, content, { time: T, channel: 'TEST' });
      const { message, content: parsed } = validateMessage(built, { now: T });
      assert.equal(message.type, type);
      assert.equal(message.channel, 'TEST');
      assert.equal(message.sender, TEST_ADDRESS);
      assert.equal((parsed as Json).address, TEST_ADDRESS);
      assert.equal((parsed as Json).time, T);
      assert.equal(built.item_hash, sha256Hex(String(built.item_content)));
    }
  });

  test('defaults: time from the clock in seconds with millisecond precision, no channel', () => {
    const before = Date.now() / 1000;
    const built = buildInlineMessage(account, 'POST', { type: 't' });
    const after = Date.now() / 1000;
    assert.ok(built.time >= before - 0.001 && built.time <= after + 0.001);
    assert.equal(Math.round(built.time * 1000) / 1000, built.time);
    assert.equal('channel' in built, false);
    assert.doesNotThrow(() => validateMessage(built));
    assert.doesNotThrow(() => validateMessage(JSON.stringify(built)));
  });

  test('address option: the content acts for another owner, the signer stays the sender', () => {
    const owner = EthAccount.generate().address;
    const built = buildInlineMessage(account, 'POST', { type: 't' }, { time: T, address: owner });
    const { message, content } = validateMessage(built, { now: T });
    assert.equal(message.sender, account.address);
    assert.equal((content as Json).address, owner);
  });

  test('matches the SDK byte for byte on capture 17 (FORGET: address and time first, like ours)', () => {
    const sdk = captured('17-', 'FORGET');
    const content = JSON.parse(String(sdk.item_content)) as Json;
    const { address: _a, time: _t, ...rest } = content;
    const built = buildInlineMessage(account, 'FORGET', rest, { time: Number(sdk.time), channel: String(sdk.channel) });
    assert.equal(built.item_content, sdk.item_content);
    assert.equal(built.item_hash, sdk.item_hash);
    // ECDSA signatures are deterministic (RFC 6979): same key and digest, same signature.
    assert.equal(built.signature, sdk.signature);
  });
});
