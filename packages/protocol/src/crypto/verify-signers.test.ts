/**
 * Schemes no fixture covers, signed here with the curve libraries: AVAX and NEO messages of
 * Ethereum keys, Eclipse (Solana scheme), Tezos tz3 (P-256) keys raw and micheline, and the
 * low-S rule of Tezos secp256k1 keys.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { p256 } from '@noble/curves/nist.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { blake2b } from '@noble/hashes/blake2.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { base58, createBase58check } from '@scure/base';
import * as sr25519 from '@scure/sr25519';
import { buildInlineMessage } from '../build.ts';
import { ProtocolError } from '../errors.ts';
import { EthAccount } from './eth.ts';
import { pythonBytesRepr } from './nuls.ts';
import { verificationBytes } from './signable.ts';
import { SolanaAccount } from './solana.ts';
import { michelineBuffer, tezosAddress, tezosIsoTime } from './tezos.ts';
import { verifyMessageSignature, type SignableMessage } from './verify.ts';

const b58check = createBase58check(sha256);
const enc = (prefix: number[], bytes: Uint8Array): string => b58check.encode(Uint8Array.from([...prefix, ...bytes]));

function unsigned(chain: string, sender: string): Omit<SignableMessage, 'signature'> {
  return { chain, sender, type: 'POST', item_hash: 'ab'.repeat(32), time: 1764000000.123 };
}

describe('schemes signed with the curve libraries', () => {
  test('AVAX and NEO messages of an Ethereum key verify (0x sender), and not under another chain', () => {
    const eth = EthAccount.generate();
    for (const chain of ['AVAX', 'NEO']) {
      const m = buildInlineMessage({ chain, address: eth.address, signVerificationBuffer: (b) => eth.signPersonal(b) }, 'POST', { type: 't', content: {} });
      verifyMessageSignature(m);
      assert.throws(() => verifyMessageSignature({ ...m, chain: chain === 'AVAX' ? 'NEO' : 'AVAX' }), ProtocolError);
    }
  });

  test('Eclipse uses the Solana scheme', () => {
    const sol = SolanaAccount.generate();
    const m = buildInlineMessage({ chain: 'ES', address: sol.address, signVerificationBuffer: (b) => sol.signVerificationBuffer(b) }, 'POST', { type: 't', content: {} });
    verifyMessageSignature(m);
    verifyMessageSignature(buildInlineMessage(sol, 'POST', { type: 't', content: {} }));
  });

  test('ed25519: a small-order public key never verifies, though its "signature" holds for any message', () => {
    // The identity point as key and R, S = 0: R + hA = S·B holds whatever the message.
    const identity = Uint8Array.from([1, ...new Uint8Array(31)]);
    const sender = base58.encode(identity);
    const signature = JSON.stringify({ signature: base58.encode(Uint8Array.from([...identity, ...new Uint8Array(32)])), publicKey: sender });
    assert.throws(() => verifyMessageSignature({ ...unsigned('SOL', sender), signature }), /does not verify/);
  });

  test('Tezos tz3 (P-256) keys, raw and micheline; a signature of another curve prefix is refused', () => {
    const secret = p256.utils.randomSecretKey();
    const pub = p256.getPublicKey(secret, true);
    const m = unsigned('TEZOS', tezosAddress('p2', pub));
    const publicKey = enc([3, 178, 139, 127], pub);
    const raw = p256.sign(blake2b(verificationBytes(m), { dkLen: 32 }), secret, { prehash: false });
    verifyMessageSignature({ ...m, signature: JSON.stringify({ publicKey, signature: enc([54, 240, 44, 52], raw) }) });
    verifyMessageSignature({ ...m, signature: JSON.stringify({ publicKey, signature: enc([4, 130, 43], raw) }) });
    assert.throws(() => verifyMessageSignature({ ...m, signature: JSON.stringify({ publicKey, signature: enc([9, 245, 205, 134, 18], raw) }) }), /different curves/);
    const mich = p256.sign(blake2b(michelineBuffer(verificationBytes(m), m.time, 'app.example'), { dkLen: 32 }), secret, { prehash: false });
    verifyMessageSignature({ ...m, signature: JSON.stringify({ publicKey, signature: enc([54, 240, 44, 52], mich), signingType: 'micheline', dAppUrl: 'app.example' }) });
  });

  test('Tezos tz2 (secp256k1) signatures must be low-S, as libsecp256k1 requires', () => {
    const secret = secp256k1.utils.randomSecretKey();
    const pub = secp256k1.getPublicKey(secret, true);
    const m = unsigned('TEZOS', tezosAddress('sp', pub));
    const publicKey = enc([3, 254, 226, 86], pub);
    const low = secp256k1.sign(blake2b(verificationBytes(m), { dkLen: 32 }), secret, { prehash: false });
    verifyMessageSignature({ ...m, signature: JSON.stringify({ publicKey, signature: enc([13, 115, 101, 19, 63], low) }) });
    const sig = secp256k1.Signature.fromBytes(low);
    const high = new secp256k1.Signature(sig.r, secp256k1.Point.CURVE().n - sig.s).toBytes();
    assert.throws(() => verifyMessageSignature({ ...m, signature: JSON.stringify({ publicKey, signature: enc([13, 115, 101, 19, 63], high) }) }), ProtocolError);
  });

  test('DOT: an SS58 sender and the same key as 0x hex both verify; a wrong SS58 checksum does not', () => {
    const secret = sr25519.secretFromSeed(new Uint8Array(32).fill(7));
    const pub = sr25519.getPublicKey(secret);
    const body = Uint8Array.from([42, ...pub]);
    const check = blake2b(Uint8Array.from([...new TextEncoder().encode('SS58PRE'), ...body])).subarray(0, 2);
    for (const [sender, ok] of [
      [base58.encode(Uint8Array.from([...body, ...check])), true],
      [`0x${Buffer.from(pub).toString('hex')}`, true],
      [base58.encode(Uint8Array.from([...body, check[0] as number, (check[1] as number) ^ 1])), false],
    ] as const) {
      const m = unsigned('DOT', sender);
      const data = `0x${Buffer.from(sr25519.sign(secret, verificationBytes(m))).toString('hex')}`;
      const run = (): void => verifyMessageSignature({ ...m, signature: JSON.stringify({ curve: 'sr25519', data }) });
      if (ok) run();
      else assert.throws(run, /SS58/);
    }
  });

  test('the micheline time is JS-style ISO with milliseconds, as pyaleph prints it', () => {
    assert.equal(tezosIsoTime(1663944079.029), '2022-09-23T14:41:19.029Z');
    assert.equal(tezosIsoTime(1640995200.9999996), '2022-01-01T00:00:01.000Z');
  });

  test('Python bytes repr: escapes and quote choice', () => {
    assert.equal(pythonBytesRepr(Uint8Array.from([0x8a, 0x41, 0x0a, 0x5c, 0x09, 0x0d, 0x00])), "b'\\x8aA\\n\\\\\\t\\r\\x00'");
    assert.equal(pythonBytesRepr(new TextEncoder().encode("it's")), 'b"it\'s"');
    assert.equal(pythonBytesRepr(new TextEncoder().encode(`'"`)), "b'\\'\"'");
  });
});
