import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { EthAccount } from '../crypto/eth.ts';
import { encodeHex, utf8 } from '../crypto/hex.ts';
import { ProtocolError, type ProtocolErrorCode } from '../errors.ts';
import { OPERATION_MAX_SKEW_SECONDS, OwnerSession, verifyOwnerOperation, type OwnerOperationRequest, type VerifiedOwnerOperation } from './signed-operation.ts';

const TEST_ADDRESS = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266';
const DOMAIN = '127.0.0.1';

interface CapturedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  crn_auth: { present?: false; operation_payload?: { time: string } };
}
const capture = JSON.parse(readFileSync(new URL('../../vectors/sdk-captures/30-crn-vmclient.json', import.meta.url), 'utf8')) as {
  requests: CapturedRequest[];
  stream_logs_ws_url: string;
  stream_logs_auth_headers: { 'X-SignedPubKey': string; 'X-SignedOperation': string };
};
const SIGNED = capture.requests.filter((r) => r.headers['x-signedpubkey'] !== undefined);

interface Signed {
  payload: string;
  signature: string;
  [k: string]: unknown;
}
function decodePayload(header: string): Record<string, unknown> {
  const env = JSON.parse(header) as Signed;
  return JSON.parse(Buffer.from(env.payload, 'hex').toString('utf8')) as Record<string, unknown>;
}
/** Re-encodes a header with a changed payload, keeping the old signature. */
function withPayload(header: string, change: (p: Record<string, unknown>) => void): string {
  const env = JSON.parse(header) as Signed;
  const p = decodePayload(header);
  change(p);
  return JSON.stringify({ ...env, payload: encodeHex(utf8(JSON.stringify(p))) });
}

/** The captured request #i as a verification request, `now` a second after its operation time. */
function capturedRequest(i = 0): OwnerOperationRequest & { signedPubKey: string; signedOperation: string; nowMs: number } {
  const r = SIGNED[i];
  assert.ok(r);
  const op = decodePayload(r.headers['x-signedoperation'] as string);
  return {
    signedPubKey: r.headers['x-signedpubkey'] as string,
    signedOperation: r.headers['x-signedoperation'] as string,
    method: r.method,
    path: r.path,
    domain: DOMAIN,
    nowMs: Date.parse(String(op.time)) + 1000,
  };
}

function identity(v: VerifiedOwnerOperation): { address: string; chain: string } {
  return { address: v.address, chain: v.chain };
}

function assertCode(fn: () => unknown, code: ProtocolErrorCode): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ProtocolError, `not a ProtocolError: ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  });
}

describe('verifyOwnerOperation on the captured VmClient headers', () => {
  test('the capture holds signed requests', () => {
    assert.ok(SIGNED.length >= 5);
  });

  for (const [i, r] of SIGNED.entries()) {
    test(`verifies ${r.method} ${r.path}`, () => {
      assert.deepEqual(identity(verifyOwnerOperation(capturedRequest(i))), { address: TEST_ADDRESS, chain: 'ETH' });
    });
  }

  test('websocket variant: objects instead of strings, GET on the socket path', () => {
    const headers = capture.stream_logs_auth_headers;
    const op = decodePayload(headers['X-SignedOperation']);
    const path = new URL(capture.stream_logs_ws_url.replace('<port>', '1')).pathname;
    const req: OwnerOperationRequest = {
      signedPubKey: JSON.parse(headers['X-SignedPubKey']) as unknown,
      signedOperation: JSON.parse(headers['X-SignedOperation']) as unknown,
      method: 'GET',
      path,
      domain: DOMAIN,
      nowMs: Date.parse(String(op.time)),
    };
    assert.deepEqual(identity(verifyOwnerOperation(req)), { address: TEST_ADDRESS, chain: 'ETH' });
    // The path and method are checked on the socket too (the SDK signs them).
    assertCode(() => verifyOwnerOperation({ ...req, path: `${path}x` }), 'AUTH_MISMATCH');
    assertCode(() => verifyOwnerOperation({ ...req, method: 'POST' }), 'AUTH_MISMATCH');
  });

  test('tampered path', () => {
    const req = capturedRequest();
    assertCode(() => verifyOwnerOperation({ ...req, path: req.path.replace('/stop', '/erase') }), 'AUTH_MISMATCH');
    assertCode(() => verifyOwnerOperation({ ...req, path: `${req.path}/` }), 'AUTH_MISMATCH');
    // Changing the signed path itself breaks the ES256 signature.
    const forged = withPayload(req.signedOperation, (p) => {
      p.path = p.path === req.path ? req.path.replace('/stop', '/erase') : p.path;
    });
    assertCode(() => verifyOwnerOperation({ ...req, signedOperation: forged, path: req.path.replace('/stop', '/erase') }), 'INVALID_SIGNATURE');
  });

  test('tampered method', () => {
    const req = capturedRequest();
    assertCode(() => verifyOwnerOperation({ ...req, method: 'DELETE' }), 'AUTH_MISMATCH');
  });

  test('tampered domain', () => {
    const req = capturedRequest();
    assertCode(() => verifyOwnerOperation({ ...req, domain: 'crn.example.org' }), 'AUTH_MISMATCH');
    assertCode(() => verifyOwnerOperation({ ...req, domain: '127.0.0.1:4020' }), 'AUTH_MISMATCH');
  });

  test('time skew beyond ±120 s; within it accepted', () => {
    const req = capturedRequest();
    const opMs = req.nowMs - 1000;
    const max = OPERATION_MAX_SKEW_SECONDS * 1000;
    assert.doesNotThrow(() => verifyOwnerOperation({ ...req, nowMs: opMs + max }));
    assert.doesNotThrow(() => verifyOwnerOperation({ ...req, nowMs: opMs - max }));
    assertCode(() => verifyOwnerOperation({ ...req, nowMs: opMs + max + 1 }), 'AUTH_EXPIRED');
    assertCode(() => verifyOwnerOperation({ ...req, nowMs: opMs - max - 1 }), 'AUTH_EXPIRED');
  });

  test('expired ephemeral key', () => {
    const req = capturedRequest();
    const expires = Date.parse(String(decodePayload(req.signedPubKey).expires));
    assertCode(() => verifyOwnerOperation({ ...req, nowMs: expires }), 'AUTH_EXPIRED');
  });

  test('pubkey payload signed by another wallet', () => {
    const req = capturedRequest();
    const payload = JSON.stringify(decodePayload(req.signedPubKey));
    const other = EthAccount.generate();
    const header = JSON.stringify({ payload: encodeHex(utf8(payload)), signature: other.signPersonal(payload) });
    assertCode(() => verifyOwnerOperation({ ...req, signedPubKey: header }), 'INVALID_SIGNATURE');
  });

  test('pubkey payload with its address changed', () => {
    const req = capturedRequest();
    const header = withPayload(req.signedPubKey, (p) => {
      p.address = EthAccount.generate().address;
    });
    assertCode(() => verifyOwnerOperation({ ...req, signedPubKey: header }), 'INVALID_SIGNATURE');
  });

  test('pubkey payload with its expiry extended', () => {
    const req = capturedRequest();
    const header = withPayload(req.signedPubKey, (p) => {
      p.expires = '2099-01-01T00:00:00.000Z';
    });
    assertCode(() => verifyOwnerOperation({ ...req, signedPubKey: header }), 'INVALID_SIGNATURE');
  });

  test('operation signed by another P-256 key', () => {
    const req = capturedRequest();
    const session = new OwnerSession(EthAccount.generate(), DOMAIN, new Date(req.nowMs + 3600_000));
    const op = session.signOperation({ method: req.method, path: req.path, domain: DOMAIN, time: new Date(req.nowMs) });
    assertCode(() => verifyOwnerOperation({ ...req, signedOperation: op }), 'INVALID_SIGNATURE');
  });

  test('operation signature with a 0x prefix is accepted too', () => {
    const req = capturedRequest();
    const env = JSON.parse(req.signedOperation) as Signed;
    assert.doesNotMatch(env.signature, /^0x/, 'the SDK sends it without prefix');
    const prefixed = JSON.stringify({ ...env, signature: `0x${env.signature}` });
    assert.deepEqual(identity(verifyOwnerOperation({ ...req, signedOperation: prefixed })), { address: TEST_ADDRESS, chain: 'ETH' });
  });

  test('malformed headers are INVALID_AUTH_HEADER', () => {
    const req = capturedRequest();
    const bad: [keyof OwnerOperationRequest, unknown][] = [
      ['signedPubKey', '{not json'],
      ['signedOperation', '{not json'],
      ['signedPubKey', 'null'],
      ['signedOperation', 42],
      ['signedPubKey', JSON.stringify({ payload: 'zz', signature: '0x00' })],
      ['signedOperation', JSON.stringify({ payload: 'abc', signature: '00' })],
      ['signedPubKey', JSON.stringify({ payload: encodeHex(utf8('not json')), signature: '0x00' })],
      ['signedOperation', JSON.stringify({ payload: encodeHex(utf8('{}')), signature: '00' })],
      ['signedPubKey', JSON.stringify({ signature: '0x00' })],
      ['signedOperation', withPayload(req.signedOperation, (p) => { p.time = 'yesterday at noon'; })],
      ['signedPubKey', withPayload(req.signedPubKey, (p) => { delete p.pubkey; })],
      ['signedPubKey', withPayload(req.signedPubKey, (p) => { (p.pubkey as Record<string, unknown>).crv = 'P-384'; })],
    ];
    for (const [field, value] of bad) {
      assertCode(() => verifyOwnerOperation({ ...req, [field]: value }), 'INVALID_AUTH_HEADER');
    }
  });

  test('an owner key of a chain aleph-vm does not accept (TEZOS) is refused with UNSUPPORTED_CHAIN', () => {
    const req = capturedRequest();
    const header = withPayload(req.signedPubKey, (p) => {
      p.chain = 'TEZOS';
    });
    assertCode(() => verifyOwnerOperation({ ...req, signedPubKey: header }), 'UNSUPPORTED_CHAIN');
  });

  test('an ETH-signed key relabelled SOL is refused (its 0x address is no Solana key)', () => {
    const req = capturedRequest();
    const header = withPayload(req.signedPubKey, (p) => {
      p.chain = 'SOL';
    });
    assertCode(() => verifyOwnerOperation({ ...req, signedPubKey: header }), 'INVALID_AUTH_HEADER');
  });

  test('garbage signature on the operation is INVALID_SIGNATURE', () => {
    const req = capturedRequest();
    for (const signature of ['zz', '', '00'.repeat(64), '00'.repeat(63)]) {
      const env = JSON.parse(req.signedOperation) as Signed;
      assertCode(() => verifyOwnerOperation({ ...req, signedOperation: JSON.stringify({ ...env, signature }) }), signature === '' ? 'INVALID_AUTH_HEADER' : 'INVALID_SIGNATURE');
    }
  });
});

describe('operation identity (single use)', () => {
  test('the same operation has the same key whatever its signature or hex case; another has another', () => {
    const req = capturedRequest();
    const first = verifyOwnerOperation(req);
    const env = JSON.parse(req.signedOperation) as Signed;
    const n = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
    const s = BigInt(`0x${env.signature.slice(64)}`);
    const flipped = `${env.signature.slice(0, 64)}${(n - s).toString(16).padStart(64, '0')}`;
    const variants = [
      JSON.stringify({ ...env, signature: flipped }),
      JSON.stringify({ ...env, signature: `0x${env.signature.toUpperCase()}` }),
      JSON.stringify({ ...env, payload: env.payload.toUpperCase() }),
    ];
    for (const signedOperation of variants) assert.equal(verifyOwnerOperation({ ...req, signedOperation }).operation.key, first.operation.key);
    const op = decodePayload(req.signedOperation);
    assert.equal(first.operation.expiresAtMs, Date.parse(String(op.time)) + OPERATION_MAX_SKEW_SECONDS * 1000);
    assert.notEqual(verifyOwnerOperation(capturedRequest(1)).operation.key, first.operation.key);
  });

  test('two keys signing the same operation text have different keys', () => {
    const path = '/p';
    const time = new Date();
    const a = new OwnerSession(EthAccount.generate(), DOMAIN);
    const b = new OwnerSession(EthAccount.generate(), DOMAIN);
    const ka = verifyOwnerOperation({ signedPubKey: a.signedPubKey, signedOperation: a.signOperation({ method: 'GET', path, domain: DOMAIN, time }), method: 'GET', path, domain: DOMAIN });
    const kb = verifyOwnerOperation({ signedPubKey: b.signedPubKey, signedOperation: b.signOperation({ method: 'GET', path, domain: DOMAIN, time }), method: 'GET', path, domain: DOMAIN });
    assert.notEqual(ka.operation.key, kb.operation.key);
  });
});

describe('OwnerSession', () => {
  const account = EthAccount.generate();

  test('round-trips through verifyOwnerOperation', () => {
    const session = new OwnerSession(account, DOMAIN);
    const path = `/control/machine/${'ab'.repeat(32)}/stop`;
    const signedOperation = session.signOperation({ method: 'POST', path, domain: DOMAIN });
    const id = verifyOwnerOperation({ signedPubKey: session.signedPubKey, signedOperation, method: 'POST', path, domain: DOMAIN });
    assert.deepEqual(identity(id), { address: account.address, chain: 'ETH' });
  });

  test('headers have the SDK shape', () => {
    const session = new OwnerSession(account, DOMAIN);
    const pub = JSON.parse(session.signedPubKey) as Signed;
    assert.match(pub.signature, /^0x[0-9a-f]{130}$/);
    const payload = decodePayload(session.signedPubKey);
    assert.deepEqual(Object.keys(payload), ['pubkey', 'alg', 'domain', 'address', 'chain', 'expires']);
    assert.match(String(payload.expires), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const op = JSON.parse(session.signOperation({ method: 'GET', path: '/x', domain: DOMAIN })) as Signed;
    assert.match(op.signature, /^[0-9a-f]{128}$/, 'raw 64-byte r‖s without prefix');
  });

  test('the domain inside the pubkey payload is not checked (crn-api.md §2.2)', () => {
    const session = new OwnerSession(account, 'somewhere.else');
    const op = session.signOperation({ method: 'GET', path: '/p', domain: DOMAIN });
    assert.doesNotThrow(() => verifyOwnerOperation({ signedPubKey: session.signedPubKey, signedOperation: op, method: 'GET', path: '/p', domain: DOMAIN }));
  });

  test('a session whose expiry has passed is refused', () => {
    const nowMs = Date.parse('2026-11-21T12:00:00.000Z');
    const session = new OwnerSession(account, DOMAIN, new Date(nowMs - 1));
    const op = session.signOperation({ method: 'GET', path: '/p', domain: DOMAIN, time: new Date(nowMs) });
    assertCode(() => verifyOwnerOperation({ signedPubKey: session.signedPubKey, signedOperation: op, method: 'GET', path: '/p', domain: DOMAIN, nowMs }), 'AUTH_EXPIRED');
  });

  test('high-S signatures verify (WebCrypto does not normalize S)', () => {
    const n = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
    const session = new OwnerSession(account, DOMAIN);
    const signedOperation = session.signOperation({ method: 'GET', path: '/p', domain: DOMAIN });
    const env = JSON.parse(signedOperation) as Signed;
    const r = env.signature.slice(0, 64);
    const s = BigInt(`0x${env.signature.slice(64)}`);
    const flipped = `${r}${(n - s).toString(16).padStart(64, '0')}`;
    const req = { signedPubKey: session.signedPubKey, method: 'GET', path: '/p', domain: DOMAIN };
    assert.doesNotThrow(() => verifyOwnerOperation({ ...req, signedOperation: JSON.stringify({ ...env, signature: env.signature }) }));
    assert.doesNotThrow(() => verifyOwnerOperation({ ...req, signedOperation: JSON.stringify({ ...env, signature: flipped }) }));
  });
});
