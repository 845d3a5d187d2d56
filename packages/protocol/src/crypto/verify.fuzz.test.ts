/**
 * Random signatures and senders never verify under any chain and never throw anything but a
 * ProtocolError: whole random strings, random JSON objects of the right shape per chain, and the
 * real fixtures with their signature or sender replaced by random text of the right alphabet.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { fuzzRuns } from '@aleph-nodes/protocol/testing';
import { CHAINS } from '../chains.ts';
import { ProtocolError } from '../errors.ts';
import { verifyMessageSignature, type SignableMessage } from './verify.ts';

const fixtures = ['wallet-messages.json', 'sdk-messages.json'].flatMap(
  (name) => (JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')) as { messages: { expect: string; message: SignableMessage }[] }).messages,
);
const REAL = fixtures.filter((f) => f.expect === 'verified').map((f) => f.message);

const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const b58 = (min: number, max: number): fc.Arbitrary<string> => fc.string({ unit: fc.constantFrom(...B58), minLength: min, maxLength: max });
const hex = (min: number, max: number): fc.Arbitrary<string> => fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: min, maxLength: max });
const b64 = fc.uint8Array({ maxLength: 80 }).map((b) => Buffer.from(b).toString('base64'));

/** Random signature fields shaped like each chain's (and like none). */
const signature = fc.oneof(
  fc.string({ maxLength: 300 }),
  hex(0, 200).map((h) => `0x${h}`),
  b58(0, 120),
  b64,
  fc.record({ signature: b58(0, 100), publicKey: b58(0, 60), version: fc.constantFrom(undefined, 1, 2, '1') }, { requiredKeys: [] }).map((o) => JSON.stringify(o)),
  fc.record({ signature: fc.oneof(b58(0, 110), fc.constant('sig'), fc.constant('edsig')), publicKey: fc.oneof(b58(0, 60), fc.constant('edpk')), signingType: fc.constantFrom(undefined, 'raw', 'micheline', 'x'), dAppUrl: fc.oneof(fc.string(), fc.integer()) }, { requiredKeys: [] }).map((o) => JSON.stringify(o)),
  fc.record({ curve: fc.constantFrom(undefined, 'sr25519', 'ed25519'), data: fc.oneof(hex(0, 140).map((h) => `0x${h}`), fc.anything()) }, { requiredKeys: [] }).map((o) => JSON.stringify(o)),
  fc.record({ signature: fc.oneof(b64, fc.anything()), pub_key: fc.oneof(fc.anything(), fc.record({ type: fc.constant('tendermint/PubKeySecp256k1'), value: fc.oneof(b64, fc.anything()) })) }, { requiredKeys: [] }).map((o) => JSON.stringify(o)),
  fc.jsonValue().map((v) => JSON.stringify(v)),
);

const sender = fc.oneof(
  fc.string({ maxLength: 100 }),
  b58(0, 60),
  b58(30, 40).map((s) => `NULSd${s}`),
  fc.string({ maxLength: 50 }).map((s) => `X-avax1${s}`),
  fc.string({ maxLength: 50 }).map((s) => `cosmos1${s}`),
  b58(30, 36).map((s) => `tz1${s}`),
  hex(40, 40).map((h) => `0x${h}`),
);

function neverVerifies(m: SignableMessage): void {
  try {
    verifyMessageSignature(m);
  } catch (err) {
    assert.ok(err instanceof ProtocolError, `not a ProtocolError: ${(err as Error)?.stack ?? String(err)}`);
    return;
  }
  assert.fail(`a random signature verified: ${JSON.stringify(m)}`);
}

describe('signature verification of random input', () => {
  it('random signatures and senders never verify under any chain, and only ProtocolErrors escape', () => {
    fc.assert(
      fc.property(fc.constantFrom(...CHAINS), sender, signature, fc.double({ min: 0, max: 4e9, noNaN: true }), (chain, from, sig, time) => {
        neverVerifies({ chain, sender: from, type: 'POST', item_hash: 'ab'.repeat(32), signature: sig, time });
      }),
      { numRuns: fuzzRuns() },
    );
  });

  it('a real message with a random signature, or a random sender, never verifies', () => {
    fc.assert(
      fc.property(fc.constantFrom(...REAL), signature, sender, fc.boolean(), (real, sig, from, replaceSignature) => {
        const m = replaceSignature ? { ...real, signature: sig } : { ...real, sender: from };
        if (m.signature === real.signature && m.sender === real.sender) return;
        neverVerifies(m);
      }),
      { numRuns: fuzzRuns() },
    );
  });
});
