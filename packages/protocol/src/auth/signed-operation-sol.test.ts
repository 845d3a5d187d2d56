/**
 * Owner operations signed by a Solana wallet (aleph-vm accepts ETH and SOL): the headers the
 * Python SDK's VmClient builds for a SOLAccount verify, tampered ones do not, and the payload
 * needs only aleph-vm's required fields.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { p256 } from '@noble/curves/nist.js';
import { EthAccount } from '../crypto/eth.ts';
import { encodeHex, utf8 } from '../crypto/hex.ts';
import { SolanaAccount } from '../crypto/solana.ts';
import { ProtocolError, type ProtocolErrorCode } from '../errors.ts';
import { OwnerSession, verifyOwnerOperation } from './signed-operation.ts';

interface Fixture {
  address: string;
  domain: string;
  method: string;
  path: string;
  headers: { 'X-SignedPubKey': string; 'X-SignedOperation': string };
}
const fixture = JSON.parse(readFileSync(new URL('../crypto/fixtures/sol-owner-operation.json', import.meta.url), 'utf8')) as Fixture;

function payloadOf(header: string): Record<string, unknown> {
  return JSON.parse(Buffer.from((JSON.parse(header) as { payload: string }).payload, 'hex').toString('utf8')) as Record<string, unknown>;
}

function sdkRequest() {
  const op = payloadOf(fixture.headers['X-SignedOperation']);
  return {
    signedPubKey: fixture.headers['X-SignedPubKey'],
    signedOperation: fixture.headers['X-SignedOperation'],
    method: fixture.method,
    path: fixture.path,
    domain: fixture.domain,
    nowMs: Date.parse(String(op.time)) + 1000,
  };
}

function assertCode(fn: () => unknown, code: ProtocolErrorCode): void {
  assert.throws(fn, (err: unknown) => err instanceof ProtocolError && err.code === code);
}

function replaceInHeader(header: string, change: (env: Record<string, string>) => void): string {
  const env = JSON.parse(header) as Record<string, string>;
  change(env);
  return JSON.stringify(env);
}

describe('owner operations signed by a Solana wallet', () => {
  test('the Python SDK VmClient headers of a SOLAccount verify as that address', () => {
    const v = verifyOwnerOperation(sdkRequest());
    assert.deepEqual({ address: v.address, chain: v.chain }, { address: fixture.address, chain: 'SOL' });
  });

  test('a tampered pubkey payload, a flipped signature or another address is refused', () => {
    const req = sdkRequest();
    const flipped = replaceInHeader(req.signedPubKey, (env) => {
      const s = env.signature as string;
      env.signature = `${s.slice(0, -2)}${s.endsWith('00') ? '01' : '00'}`;
    });
    assertCode(() => verifyOwnerOperation({ ...req, signedPubKey: flipped }), 'INVALID_SIGNATURE');
    const other = SolanaAccount.generate().address;
    const reAddressed = replaceInHeader(req.signedPubKey, (env) => {
      const p = payloadOf(req.signedPubKey);
      p.address = other;
      env.payload = encodeHex(utf8(JSON.stringify(p)));
    });
    assertCode(() => verifyOwnerOperation({ ...req, signedPubKey: reAddressed }), 'INVALID_SIGNATURE');
    const relabelled = replaceInHeader(req.signedPubKey, (env) => {
      const p = payloadOf(req.signedPubKey);
      p.chain = 'ETH';
      env.payload = encodeHex(utf8(JSON.stringify(p)));
    });
    assert.throws(() => verifyOwnerOperation({ ...req, signedPubKey: relabelled }), ProtocolError);
  });

  test('the signature is over the payload hex text, not the payload bytes', () => {
    const account = SolanaAccount.generate();
    const session = new OwnerSession(account, 'crn.example');
    const env = JSON.parse(session.signedPubKey) as { payload: string; signature: string };
    const overBytes = JSON.stringify({ ...env, signature: encodeHex(account.signBytes(Buffer.from(env.payload, 'hex'))) });
    const op = session.signOperation({ method: 'POST', path: '/control/machine/x/stop', domain: 'crn.example' });
    const req = { signedOperation: op, method: 'POST', path: '/control/machine/x/stop', domain: 'crn.example' };
    assert.equal(verifyOwnerOperation({ ...req, signedPubKey: session.signedPubKey }).address, account.address);
    assertCode(() => verifyOwnerOperation({ ...req, signedPubKey: overBytes }), 'INVALID_SIGNATURE');
  });

  test('only aleph-vm\'s required fields: no alg, no domain, no chain (ETH by default)', () => {
    const eth = EthAccount.generate();
    const secret = p256.utils.randomSecretKey();
    const pub = p256.getPublicKey(secret, false);
    const jwk = { kty: 'EC', crv: 'P-256', x: Buffer.from(pub.subarray(1, 33)).toString('base64url'), y: Buffer.from(pub.subarray(33)).toString('base64url') };
    const payload = JSON.stringify({ pubkey: jwk, address: eth.address, expires: new Date(Date.now() + 3_600_000).toISOString() });
    const signedPubKey = JSON.stringify({ payload: encodeHex(utf8(payload)), signature: eth.signPersonal(payload) });
    const opPayload = JSON.stringify({ time: new Date().toISOString(), method: 'GET', path: '/control/machine/x/logs', domain: 'crn.example' });
    const signedOperation = JSON.stringify({ payload: encodeHex(utf8(opPayload)), signature: encodeHex(p256.sign(utf8(opPayload), secret, { prehash: true, lowS: false })) });
    const v = verifyOwnerOperation({ signedPubKey, signedOperation, method: 'GET', path: '/control/machine/x/logs', domain: 'crn.example' });
    assert.deepEqual({ address: v.address, chain: v.chain }, { address: eth.address, chain: 'ETH' });
  });

  test('a Solana address that is not a 32-byte base58 key is a malformed header', () => {
    const req = sdkRequest();
    for (const address of ['0OIl', '1111', 'x'.repeat(44)]) {
      const header = replaceInHeader(req.signedPubKey, (env) => {
        const p = payloadOf(req.signedPubKey);
        p.address = address;
        env.payload = encodeHex(utf8(JSON.stringify(p)));
      });
      assertCode(() => verifyOwnerOperation({ ...req, signedPubKey: header }), 'INVALID_AUTH_HEADER');
    }
  });
});
