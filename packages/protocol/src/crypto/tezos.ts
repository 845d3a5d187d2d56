/**
 * Tezos: the signature field is JSON `{"signature", "publicKey"[, "signingType", "dAppUrl"]}`.
 * The key's prefix picks the curve (edpk ed25519, sppk secp256k1, p2pk P-256); the sender is
 * the key's tz1/tz2/tz3 hash (BLAKE2b-160, base58check); the signature covers BLAKE2b-256 of the
 * verification buffer, or of its micheline wrapping when a web wallet signed it
 * (`signingType: "micheline"`, as pyaleph's TezosVerifier and Taquito/Beacon do).
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { p256 } from '@noble/curves/nist.js';
import { blake2b } from '@noble/hashes/blake2.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { createBase58check } from '@scure/base';
import { verifyEd25519 } from './solana.ts';
import { concatBytes, decodeOr, refuse, signatureObject, stringField, verificationBytes, type SignableMessage } from './signable.ts';

const b58check = createBase58check(sha256);

type Curve = 'ed' | 'sp' | 'p2';

const KEY_PREFIX: Record<Curve, { prefix: number[]; length: number; hash: number[] }> = {
  ed: { prefix: [13, 15, 37, 217], length: 32, hash: [6, 161, 159] }, // edpk → tz1
  sp: { prefix: [3, 254, 226, 86], length: 33, hash: [6, 161, 161] }, // sppk → tz2
  p2: { prefix: [3, 178, 139, 127], length: 33, hash: [6, 161, 164] }, // p2pk → tz3
};

/** Signature prefixes; the generic `sig` goes with any curve, the others only with their own. */
const SIG_PREFIX: { prefix: number[]; curve: Curve | 'any' }[] = [
  { prefix: [9, 245, 205, 134, 18], curve: 'ed' }, // edsig
  { prefix: [13, 115, 101, 19, 63], curve: 'sp' }, // spsig1
  { prefix: [54, 240, 44, 52], curve: 'p2' }, // p2sig
  { prefix: [4, 130, 43], curve: 'any' }, // sig
];

/** What a web wallet signs when no signingType is given. */
export const TEZOS_DEFAULT_DAPP_URL = 'aleph.im';

function startsWith(bytes: Uint8Array, prefix: number[]): boolean {
  return bytes.length >= prefix.length && prefix.every((v, i) => bytes[i] === v);
}

function decodeKey(chain: string, text: string): { curve: Curve; key: Uint8Array } {
  const raw = decodeOr(chain, 'the base58check publicKey', () => b58check.decode(text));
  for (const [curve, spec] of Object.entries(KEY_PREFIX) as [Curve, (typeof KEY_PREFIX)[Curve]][]) {
    if (startsWith(raw, spec.prefix) && raw.length === spec.prefix.length + spec.length) return { curve, key: raw.subarray(spec.prefix.length) };
  }
  return refuse(chain, 'the publicKey is not an edpk, sppk or p2pk key');
}

function decodeSignature(chain: string, text: string, curve: Curve): Uint8Array {
  const raw = decodeOr(chain, 'the base58check signature', () => b58check.decode(text));
  for (const spec of SIG_PREFIX) {
    if (startsWith(raw, spec.prefix) && raw.length === spec.prefix.length + 64) {
      if (spec.curve !== 'any' && spec.curve !== curve) refuse(chain, 'the signature and the publicKey are of different curves');
      return raw.subarray(spec.prefix.length);
    }
  }
  return refuse(chain, 'the signature is not an edsig, spsig1, p2sig or sig signature');
}

export function tezosAddress(curve: Curve, key: Uint8Array): string {
  return b58check.encode(concatBytes(Uint8Array.from(KEY_PREFIX[curve].hash), blake2b(key, { dkLen: 20 })));
}

/** JS-style ISO time with milliseconds, from Python's datetime of the float time (microseconds rounded). */
export function tezosIsoTime(time: number): string {
  let seconds = Math.floor(time);
  let micros = Math.round((time - seconds) * 1e6);
  if (micros >= 1e6) {
    seconds += 1;
    micros -= 1e6;
  }
  return new Date(seconds * 1000 + Math.floor(micros / 1000)).toISOString();
}

/**
 * The micheline-packed string a Beacon wallet signs: 0x05 0x01 0x00, then (as pyaleph writes
 * it) the decimal length of the payload's hex, then the payload
 * `Tezos Signed Message: <dAppUrl> <ISO time> <verification buffer>`.
 */
export function michelineBuffer(buffer: Uint8Array, time: number, dAppUrl: string): Uint8Array {
  const enc = new TextEncoder();
  const payload = concatBytes(enc.encode(`Tezos Signed Message: ${dAppUrl} ${tezosIsoTime(time)} `), buffer);
  return concatBytes(Uint8Array.from([0x05, 0x01, 0x00]), enc.encode(String(payload.length * 2)), payload);
}

function verifyCurve(curve: Curve, sig: Uint8Array, digest: Uint8Array, key: Uint8Array): boolean {
  try {
    if (curve === 'ed') return verifyEd25519(sig, digest, key);
    // libsecp256k1 (pytezos' verifier) refuses high-S signatures; fastecdsa (P-256) does not.
    if (curve === 'sp') return secp256k1.verify(sig, digest, key, { prehash: false, lowS: true });
    return p256.verify(sig, digest, key, { prehash: false, lowS: false });
  } catch {
    return false;
  }
}

export function verifyTezos(m: SignableMessage): void {
  const chain = m.chain;
  const obj = signatureObject(chain, m.signature);
  const sigText = stringField(chain, obj, 'signature');
  const keyText = stringField(chain, obj, 'publicKey');
  const signingType = obj.signingType ?? 'raw';
  if (signingType !== 'raw' && signingType !== 'micheline') refuse(chain, `unsupported signingType ${JSON.stringify(signingType)}`);
  const dAppUrl = obj.dAppUrl ?? TEZOS_DEFAULT_DAPP_URL;
  if (typeof dAppUrl !== 'string') refuse(chain, 'dAppUrl is not a string');
  const { curve, key } = decodeKey(chain, keyText);
  if (tezosAddress(curve, key) !== m.sender) refuse(chain, 'the publicKey does not hash to the sender');
  const sig = decodeSignature(chain, sigText, curve);
  const buffer = verificationBytes(m);
  const signed = signingType === 'micheline' ? michelineBuffer(buffer, m.time, dAppUrl) : buffer;
  if (!verifyCurve(curve, sig, blake2b(signed, { dkLen: 32 }), key)) refuse(chain, 'the signature does not verify for the sender');
}

