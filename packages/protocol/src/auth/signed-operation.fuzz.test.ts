import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { fuzzRuns } from '@aleph-nodes/protocol/testing';
import { EthAccount } from '../crypto/eth.ts';
import { encodeHex, utf8 } from '../crypto/hex.ts';
import { ProtocolError } from '../errors.ts';
import { OwnerSession, verifyOwnerOperation } from './signed-operation.ts';

const DOMAIN = 'crn.example.org';
const PATH = `/control/machine/${'ab'.repeat(32)}/stop`;
const account = EthAccount.generate();
const session = new OwnerSession(account, DOMAIN);
const GOOD_OP = session.signOperation({ method: 'POST', path: PATH, domain: DOMAIN });

const hexString = (minLength: number, maxLength: number): fc.Arbitrary<string> => fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength, maxLength });

function onlyProtocolErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ProtocolError, `not a ProtocolError: ${(err as Error)?.stack ?? String(err)}`);
  }
}

/** An envelope `{payload: hex(JSON), signature}` around any JSON, or any value at all. */
const envelope = fc.oneof(
  fc.anything(),
  fc.record({ payload: fc.oneof(fc.string(), fc.jsonValue().map((v) => encodeHex(utf8(JSON.stringify(v))))), signature: fc.oneof(fc.string(), hexString(0, 200)) }, { requiredKeys: [] }),
);

/** Near-valid pubkey payloads: the real fields, each kept, dropped or replaced. */
const pubPayload = fc.record(
  {
    pubkey: fc.oneof(fc.constant(JSON.parse(Buffer.from((JSON.parse(session.signedPubKey) as { payload: string }).payload, 'hex').toString()).pubkey as unknown), fc.anything(), fc.record({ kty: fc.constant('EC'), crv: fc.constant('P-256'), x: fc.string(), y: fc.string() })),
    alg: fc.oneof(fc.constant('ECDSA'), fc.anything()),
    domain: fc.oneof(fc.constant(DOMAIN), fc.anything()),
    address: fc.oneof(fc.constant(account.address), fc.string()),
    chain: fc.constantFrom('ETH', 'SOL', 'BTC', 1),
    expires: fc.oneof(fc.constant('2099-01-01T00:00:00.000Z'), fc.string(), fc.date({ noInvalidDate: false }).map((d) => (Number.isNaN(d.getTime()) ? 'Invalid' : d.toISOString()))),
  },
  { requiredKeys: [] },
);

describe('owner-operation headers (fuzz)', () => {
  it('header form (strings): only ProtocolErrors', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), envelope.map((e) => JSON.stringify(e) ?? '')), fc.oneof(fc.string(), envelope.map((e) => JSON.stringify(e) ?? '')), fc.string(), fc.string(), (pub, op, method, path) => {
        onlyProtocolErrors(() => verifyOwnerOperation({ signedPubKey: pub, signedOperation: op, method, path, domain: DOMAIN }));
      }),
      { numRuns: fuzzRuns() },
    );
  });

  it('websocket auth frame (objects of any shape): only ProtocolErrors', () => {
    fc.assert(
      fc.property(envelope, envelope, (pub, op) => {
        onlyProtocolErrors(() => verifyOwnerOperation({ signedPubKey: pub, signedOperation: op, method: 'GET', path: PATH, domain: DOMAIN }));
      }),
      { numRuns: fuzzRuns() },
    );
  });

  it('wallet-signed near-valid pubkey payloads with the real operation: only ProtocolErrors', () => {
    fc.assert(
      fc.property(pubPayload, fc.boolean(), (payload, asObject) => {
        const json = JSON.stringify(payload);
        const env = { payload: encodeHex(utf8(json)), signature: account.signPersonal(json) };
        onlyProtocolErrors(() =>
          verifyOwnerOperation({ signedPubKey: asObject ? env : JSON.stringify(env), signedOperation: asObject ? JSON.parse(GOOD_OP) : GOOD_OP, method: 'POST', path: PATH, domain: DOMAIN }),
        );
      }),
      { numRuns: fuzzRuns() },
    );
  });
});
