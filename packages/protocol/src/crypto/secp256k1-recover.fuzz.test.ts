/**
 * libsecp256k1 and noble recover the same signer, and refuse the same signatures: valid
 * signatures of random messages, the same with one bit of r, s, v or the message flipped, and
 * malformed ones (r or s zero or past the group order, random 64 bytes, bad recovery bytes).
 * The node verifies with whichever loaded, so a difference would make nodes disagree.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { fuzzRuns } from '@aleph-nodes/protocol/testing';
import { isProtocolError } from '../errors.ts';
import { EthAccount, recoverPersonalAddressWith } from './eth.ts';
import { encodeHex } from './hex.ts';
import { NATIVE_RECOVERER, NOBLE_RECOVERER, SIGNATURE_BACKEND, type EcdsaRecoverer } from './secp256k1-recover.ts';

/** The group order n, big-endian. */
const ORDER = Buffer.from('fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141', 'hex');

/** The address or the refusal's code: what both must agree on. */
function outcome(recoverer: EcdsaRecoverer, message: Uint8Array, signature: string): string {
  try {
    return recoverPersonalAddressWith(recoverer, message, signature);
  } catch (err) {
    assert.ok(isProtocolError(err), `${recoverer.name} threw a non-protocol error: ${String(err)}`);
    return `refused:${err.code}`;
  }
}

function agree(native: EcdsaRecoverer, message: Uint8Array, signature: string): string {
  const a = outcome(native, message, signature);
  const b = outcome(NOBLE_RECOVERER, message, signature);
  assert.equal(a, b, `libsecp256k1 and noble disagree on ${signature}`);
  return a;
}

const accounts = Array.from({ length: 4 }, () => EthAccount.generate());
const signed = fc.record({ account: fc.constantFrom(...accounts), message: fc.uint8Array({ maxLength: 200 }) }).map(({ account, message }) => ({
  account,
  message,
  signature: account.signPersonal(message),
}));

describe('signature recovery: libsecp256k1 and noble agree', () => {
  it('the native binding loads here (the setup installs its prebuilt binary)', () => {
    assert.equal(SIGNATURE_BACKEND.name, 'libsecp256k1', SIGNATURE_BACKEND.nativeError);
    assert.ok(NATIVE_RECOVERER);
  });

  const native = NATIVE_RECOVERER;
  if (!native) return;

  it('valid signatures recover the signer with both', () => {
    fc.assert(
      fc.property(signed, ({ account, message, signature }) => {
        assert.equal(agree(native, message, signature), account.address.toLowerCase());
      }),
      { numRuns: fuzzRuns() },
    );
  });

  it('a flipped bit in r, s, v or the message gives the same answer with both', () => {
    fc.assert(
      fc.property(signed, fc.nat(65 * 8 - 1), fc.boolean(), ({ account, message, signature }, bit, inMessage) => {
        let sig = signature;
        let msg = message;
        if (inMessage && message.length > 0) {
          msg = Uint8Array.from(message);
          const i = bit % (message.length * 8);
          msg[i >> 3] = (msg[i >> 3] as number) ^ (1 << (i & 7));
        } else {
          const raw = Buffer.from(signature.slice(2), 'hex');
          raw[bit >> 3] = (raw[bit >> 3] as number) ^ (1 << (bit & 7));
          sig = `0x${raw.toString('hex')}`;
        }
        assert.notEqual(agree(native, msg, sig), account.address.toLowerCase());
      }),
      { numRuns: fuzzRuns() },
    );
  });

  it('malformed signatures are refused (or recover the same key) with both', () => {
    const scalar = fc.oneof(
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.constant(new Uint8Array(32)),
      fc.constant(Uint8Array.from(ORDER)),
      fc.constant(new Uint8Array(32).fill(0xff)),
      fc.nat(1000).map((k) => {
        const b = Buffer.from(ORDER);
        b.writeUInt16BE((b.readUInt16BE(30) + k) & 0xffff, 30);
        return Uint8Array.from(b);
      }),
    );
    const v = fc.oneof(fc.constantFrom(0, 1, 27, 28), fc.nat(255));
    fc.assert(
      fc.property(scalar, scalar, v, fc.uint8Array({ maxLength: 100 }), (r, s, vByte, message) => {
        agree(native, message, `0x${encodeHex(r)}${encodeHex(s)}${vByte.toString(16).padStart(2, '0')}`);
      }),
      { numRuns: fuzzRuns() },
    );
  });

  it('signatures of the wrong length or not hex are refused by both', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 140 }), fc.uint8Array({ maxLength: 80 }).map((b) => `0x${encodeHex(b)}`)), (signature) => {
        agree(native, new Uint8Array([1, 2, 3]), signature);
      }),
      { numRuns: fuzzRuns() },
    );
  });
});
