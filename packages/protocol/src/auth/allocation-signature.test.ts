import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EthAccount } from '../crypto/eth.ts';
import { encodeHex, utf8 } from '../crypto/hex.ts';
import { sha256Hex } from '../crypto/sha256.ts';
import { ALEPH_ERROR, ProtocolError, type ProtocolErrorCode } from '../errors.ts';
import { ALLOCATION_DIGESTS_PER_SECOND, MemoryReplayGuard } from './allocation-replay.ts';
import {
  ALLOCATION_MAX_BODY_BYTES,
  ALLOCATION_SIGNATURE_MAX_AGE_SECONDS,
  parseAllocationAuthorization,
  signAllocationRequest,
  verifyAllocationRequest,
  type AllocationRequest,
  type AllocationSelf,
  type AllocationTarget,
} from './allocation-signature.ts';

const NOW = 1_795_300_000;
const PATH = '/control/allocations';
const BODY = JSON.stringify({ persistent_vms: ['a'.repeat(64)], instances: [] });
const scheduler = EthAccount.generate();
const SELF_HASH = 'c'.repeat(64);
const SELF: AllocationSelf = { nodeHash: SELF_HASH, domain: 'crn-a.example.org' };
const TARGET: AllocationTarget = { nodeHash: SELF_HASH, url: 'https://crn-a.example.org' };

function request(
  overrides: Partial<AllocationRequest> = {},
  sign: { iat?: number; body?: string; method?: string; path?: string; account?: EthAccount; target?: AllocationTarget | null } = {},
): AllocationRequest {
  const body = overrides.body ?? utf8(BODY);
  const authorization = signAllocationRequest(sign.account ?? scheduler, {
    method: sign.method ?? 'POST',
    path: sign.path ?? PATH,
    body: sign.body ?? BODY,
    iat: sign.iat ?? NOW,
    target: sign.target === undefined ? TARGET : sign.target,
  });
  return { authorization, method: 'POST', path: PATH, hasQuery: false, contentLength: body.length, body, ...overrides };
}

function verify(req: AllocationRequest, replay = new MemoryReplayGuard(), now = NOW, self = SELF, allowUnbound = false): string {
  return verifyAllocationRequest(req, { authorizedSigners: [scheduler.address], replay, now, self, allowUnbound }).signer;
}

function assertCode(fn: () => unknown, code: ProtocolErrorCode): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ProtocolError, `not a ProtocolError: ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.equal(err.alephCode, ALEPH_ERROR.PERMISSION_DENIED);
    return true;
  });
}

describe('Aleph-EIP191-V1 allocation signatures', () => {
  test('a good request verifies and returns the lowercase signer', () => {
    assert.equal(verify(request()), scheduler.address.toLowerCase());
  });

  test('the header has the reference shape and the payload is the signed JSON', () => {
    const header = signAllocationRequest(scheduler, { method: 'POST', path: PATH, body: BODY, iat: NOW, target: TARGET });
    const m = /^Aleph-EIP191-V1 sig=(0x[0-9a-f]{130}),payload=([0-9a-f]+)$/.exec(header);
    assert.ok(m, header);
    const payload = JSON.parse(Buffer.from(m[2] as string, 'hex').toString('utf8')) as Record<string, unknown>;
    assert.deepEqual(payload, { method: 'POST', path: PATH, body_sha256: sha256Hex(BODY), iat: NOW, node_hash: SELF_HASH, url: TARGET.url });
    const unbound = signAllocationRequest(scheduler, { method: 'POST', path: PATH, body: BODY, iat: NOW, target: null });
    const legacy = JSON.parse(Buffer.from(unbound.split('payload=')[1] as string, 'hex').toString('utf8')) as Record<string, unknown>;
    assert.deepEqual(legacy, { method: 'POST', path: PATH, body_sha256: sha256Hex(BODY), iat: NOW });
  });

  test('authorized signers match case-insensitively', () => {
    const req = request();
    assert.equal(
      verifyAllocationRequest(req, { authorizedSigners: [scheduler.address.toUpperCase().replace('0X', '0x')], replay: new MemoryReplayGuard(), now: NOW, self: SELF }).signer,
      scheduler.address.toLowerCase(),
    );
  });

  test('wrong method', () => {
    assertCode(() => verify(request({ method: 'PUT' })), 'AUTH_MISMATCH');
    assertCode(() => verify(request({}, { method: 'post' })), 'AUTH_MISMATCH');
  });

  test('wrong path, trailing slash included', () => {
    assertCode(() => verify(request({ path: `${PATH}/` })), 'AUTH_MISMATCH');
    assertCode(() => verify(request({ path: '/control/allocation' })), 'AUTH_MISMATCH');
  });

  test('query string present', () => {
    assertCode(() => verify(request({ hasQuery: true })), 'AUTH_MISMATCH');
  });

  test('body changed', () => {
    const changed = utf8(BODY.replace('instances', 'instanceZ'));
    assertCode(() => verify(request({ body: changed, contentLength: changed.length })), 'AUTH_MISMATCH');
  });

  test('missing Content-Length', () => {
    assertCode(() => verify(request({ contentLength: undefined })), 'AUTH_MISMATCH');
  });

  test('body over 1 MiB; exactly 1 MiB accepted', () => {
    const exact = 'x'.repeat(ALLOCATION_MAX_BODY_BYTES);
    const ok = request({ body: utf8(exact), contentLength: ALLOCATION_MAX_BODY_BYTES }, { body: exact });
    assert.equal(verify(ok), scheduler.address.toLowerCase());
    const big = `${exact}x`;
    assertCode(() => verify(request({ body: utf8(big), contentLength: ALLOCATION_MAX_BODY_BYTES + 1 }, { body: big })), 'AUTH_MISMATCH');
  });

  test('iat too old or too far in the future; the window edges accepted', () => {
    const max = ALLOCATION_SIGNATURE_MAX_AGE_SECONDS;
    assertCode(() => verify(request({}, { iat: NOW - max - 1 })), 'AUTH_EXPIRED');
    assertCode(() => verify(request({}, { iat: NOW + max + 1 })), 'AUTH_EXPIRED');
    assert.doesNotThrow(() => verify(request({}, { iat: NOW - max })));
    assert.doesNotThrow(() => verify(request({}, { iat: NOW + max })));
  });

  test('unauthorized signer', () => {
    assertCode(() => verify(request({}, { account: EthAccount.generate() })), 'UNAUTHORIZED_SIGNER');
    assertCode(
      () => verifyAllocationRequest(request(), { authorizedSigners: [], replay: new MemoryReplayGuard(), now: NOW, self: SELF }),
      'UNAUTHORIZED_SIGNER',
    );
  });

  test('signature of another payload (sig swapped between two headers)', () => {
    const a = parseAllocationAuthorization(request().authorization);
    const b = parseAllocationAuthorization(request({}, { iat: NOW + 1 }).authorization);
    // b's payload with a's signature recovers some other address.
    assertCode(() => verify(request({ authorization: `Aleph-EIP191-V1 sig=${a.sig},payload=${b.payloadHex}` })), 'UNAUTHORIZED_SIGNER');
  });

  test('replay: the same header twice is refused, a later iat is fine, an older one is not', () => {
    const replay = new MemoryReplayGuard();
    const req = request();
    verify(req, replay);
    assertCode(() => verify(req, replay), 'AUTH_REPLAYED');
    assert.doesNotThrow(() => verify(request({}, { iat: NOW + 1 }), replay));
    // Signed earlier than the last accepted push of this signer: refused, even with a new body.
    const other = JSON.stringify({ persistent_vms: [], instances: [] });
    assertCode(() => verify(request({ body: utf8(other), contentLength: other.length }, { body: other, iat: NOW }), replay, NOW + 1), 'AUTH_REPLAYED');
  });

  test('two different pushes in the same second are both accepted', () => {
    const replay = new MemoryReplayGuard();
    const other = JSON.stringify({ persistent_vms: [], instances: [] });
    verify(request(), replay);
    assert.doesNotThrow(() => verify(request({ body: utf8(other), contentLength: other.length }, { body: other }), replay));
  });

  test('a refused push does not move the signer\'s state', () => {
    const replay = new MemoryReplayGuard();
    const later = request({}, { iat: NOW + 5 });
    // Rejected for another reason (query string, another target): not recorded.
    assertCode(() => verify({ ...later, hasQuery: true }, replay), 'AUTH_MISMATCH');
    assertCode(() => verify(request({}, { iat: NOW + 5, target: { nodeHash: 'd'.repeat(64), url: 'https://crn-b.example.org' } }), replay), 'AUTH_MISMATCH');
    assert.doesNotThrow(() => verify(request(), replay));
  });

  test('the guard: older iat, same digest, and the per-second cap', () => {
    const guard = new MemoryReplayGuard();
    assert.equal(guard.accept('s', 10, 'a'), true);
    assert.equal(guard.accept('s', 10, 'a'), false);
    assert.equal(guard.accept('s', 10, 'b'), true);
    assert.equal(guard.accept('s', 9, 'c'), false);
    assert.equal(guard.accept('t', 9, 'c'), true, 'signers are independent');
    assert.equal(guard.accept('s', 11, 'a'), true, 'a later second starts afresh');
    assert.equal(guard.accept('s', 10, 'z'), false);
    for (let i = 1; i < ALLOCATION_DIGESTS_PER_SECOND; i++) assert.equal(guard.accept('s', 11, `d${i}`), true);
    assert.equal(guard.accept('s', 11, 'one-too-many'), false);
  });

  test('target: a push for another node is refused, by hash or (hash unknown) by URL host', () => {
    const forB: AllocationTarget = { nodeHash: 'd'.repeat(64), url: 'https://crn-b.example.org' };
    assertCode(() => verify(request({}, { target: forB })), 'AUTH_MISMATCH');
    // The right URL does not help when this node knows its hash and the hash differs.
    assertCode(() => verify(request({}, { target: { ...forB, url: TARGET.url } })), 'AUTH_MISMATCH');
    assertCode(() => verify(request({}, { target: { nodeHash: null, url: TARGET.url } })), 'AUTH_MISMATCH');
    const noHash: AllocationSelf = { nodeHash: '', domain: 'crn-a.example.org' };
    assert.doesNotThrow(() => verify(request({}, { target: { nodeHash: null, url: 'https://CRN-A.example.org:8443/' } }), undefined, NOW, noHash));
    assertCode(() => verify(request({}, { target: forB }), undefined, NOW, noHash), 'AUTH_MISMATCH');
    assertCode(() => verify(request({}, { target: { nodeHash: null, url: 'not a url' } }), undefined, NOW, noHash), 'AUTH_MISMATCH');
    const v6: AllocationSelf = { nodeHash: '', domain: '::1' };
    assert.doesNotThrow(() => verify(request({}, { target: { nodeHash: null, url: 'http://[::1]:4020' } }), undefined, NOW, v6));
  });

  test('the unbound reference payload is accepted only when allowed', () => {
    assertCode(() => verify(request({}, { target: null })), 'AUTH_MISMATCH');
    assert.doesNotThrow(() => verify(request({}, { target: null }), undefined, NOW, SELF, true));
    const verified = verifyAllocationRequest(request({}, { target: null }), { authorizedSigners: [scheduler.address], replay: new MemoryReplayGuard(), now: NOW, self: SELF, allowUnbound: true });
    assert.equal(verified.bound, false);
  });

  test('extra header parameter', () => {
    const req = request();
    assertCode(() => verify({ ...req, authorization: `${req.authorization},nonce=1` }), 'INVALID_AUTH_HEADER');
  });

  test('duplicate or missing parameters, trailing comma', () => {
    const { sig, payloadHex } = parseAllocationAuthorization(request().authorization);
    for (const header of [
      `Aleph-EIP191-V1 sig=${sig},sig=${sig},payload=${payloadHex}`,
      `Aleph-EIP191-V1 sig=${sig}`,
      `Aleph-EIP191-V1 payload=${payloadHex}`,
      `Aleph-EIP191-V1 sig=${sig},payload=${payloadHex},`,
      `Aleph-EIP191-V1 sig=,payload=${payloadHex}`,
      'Aleph-EIP191-V1',
      '',
    ]) {
      assertCode(() => verify(request({ authorization: header })), 'INVALID_AUTH_HEADER');
    }
  });

  test('wrong scheme', () => {
    const req = request();
    assertCode(() => verify({ ...req, authorization: req.authorization.replace('Aleph-EIP191-V1', 'Bearer') }), 'INVALID_AUTH_HEADER');
    assertCode(() => verify({ ...req, authorization: req.authorization.replace('Aleph-EIP191-V1', 'Aleph-EIP191-V2') }), 'INVALID_AUTH_HEADER');
  });

  test('scheme is case-insensitive', () => {
    const req = request();
    assert.doesNotThrow(() => verify({ ...req, authorization: req.authorization.replace('Aleph-EIP191-V1', 'aleph-eip191-v1') }));
  });

  test('spaces after the comma (and around the parameters) are tolerated', () => {
    const req = request();
    assert.doesNotThrow(() => verify({ ...req, authorization: req.authorization.replace(',payload=', ', payload=') }));
    const req2 = request({}, { iat: NOW + 2 });
    assert.doesNotThrow(() => verify({ ...req2, authorization: `  ${req2.authorization.replace(' sig=', '   sig=').replace(',payload=', ',   payload=')}  ` }));
  });

  test('payload that is not hex, not JSON, or lacks fields is INVALID_AUTH_HEADER', () => {
    const { sig } = parseAllocationAuthorization(request().authorization);
    const hex = (text: string) => encodeHex(utf8(text));
    for (const payload of [
      'zz',
      'abc',
      hex('not json'),
      hex(JSON.stringify({ method: 'POST', path: PATH, iat: NOW })),
      hex(JSON.stringify({ method: 'POST', path: PATH, body_sha256: sha256Hex(BODY), iat: NOW, extra: 1 })),
      hex(JSON.stringify({ method: 'POST', path: PATH, body_sha256: sha256Hex(BODY), iat: NOW, node_hash: SELF_HASH.toUpperCase(), url: TARGET.url })),
      hex(JSON.stringify({ method: 'POST', path: PATH, body_sha256: sha256Hex(BODY), iat: NOW, node_hash: SELF_HASH, url: 'x'.repeat(3000) })),
      hex(JSON.stringify({ method: 'POST', path: PATH, body_sha256: sha256Hex(BODY), iat: NOW, node_hash: 1 })),
      hex(JSON.stringify({ method: 'POST', path: PATH, body_sha256: sha256Hex(BODY), iat: NOW + 0.5 })),
    ]) {
      assertCode(() => verify(request({ authorization: `Aleph-EIP191-V1 sig=${sig},payload=${payload}` })), 'INVALID_AUTH_HEADER');
    }
  });

  test('malformed signature is INVALID_SIGNATURE', () => {
    const { payloadHex } = parseAllocationAuthorization(request().authorization);
    assert.throws(
      () => verify(request({ authorization: `Aleph-EIP191-V1 sig=0x1234,payload=${payloadHex}` })),
      (err: unknown) => err instanceof ProtocolError && err.code === 'INVALID_SIGNATURE',
    );
  });

  test('default iat is the current time', () => {
    const authorization = signAllocationRequest(scheduler, { method: 'POST', path: PATH, body: BODY, target: TARGET });
    const body = utf8(BODY);
    const { signer } = verifyAllocationRequest(
      { authorization, method: 'POST', path: PATH, hasQuery: false, contentLength: body.length, body },
      { authorizedSigners: [scheduler.address], replay: new MemoryReplayGuard(), self: SELF },
    );
    assert.equal(signer, scheduler.address.toLowerCase());
  });
});
