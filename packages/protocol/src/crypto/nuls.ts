/**
 * NULS (v1) and NULS2: secp256k1 over SHA-256 of `\x18NULS Signed Message:\n` + varint length +
 * verification buffer; the sender is base58 of chain id (u16 LE) ‖ 0x01 ‖ RIPEMD-160(SHA-256(key))
 * ‖ xor byte (NULS2 adds the network prefix `NULSd` / `tNULSe`).
 *
 * NULS2 signatures are base64 of a 65-byte recoverable signature (recid+27 first). NULS v1 ones
 * are hex of varint-length key ‖ type byte ‖ varint-length DER signature and, as pyaleph's
 * NulsSignature.verify does, sign the text of Python's bytes repr (`b'…'`) of the length-prefixed
 * buffer inside the template: a quirk of that code that every NULS v1 signer followed.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { base58, base64 } from '@scure/base';
import { decodeHex } from './hex.ts';
import { hash160 } from './hash160.ts';
import { concatBytes, decodeOr, refuse, verificationBytes, type SignableMessage } from './signable.ts';

const TEMPLATE = new TextEncoder().encode('\x18NULS Signed Message:\n');
/** NULS2 network prefixes by chain id (nuls2 library NETWORKS); the letter after is ascii_letters[len-1]. */
const NULS2_NETWORKS: Record<number, string> = { 1: 'NULSd', 2: 'tNULSe' };

export function varint(n: number): Uint8Array {
  if (n < 253) return Uint8Array.from([n]);
  if (n <= 0xffff) return Uint8Array.from([253, n & 0xff, n >> 8]);
  const out = new Uint8Array(5);
  out[0] = 254;
  new DataView(out.buffer).setUint32(1, n, true);
  return out;
}

function xorByte(bytes: Uint8Array): number {
  return bytes.reduce((x, b) => x ^ b, 0);
}

/** base58(chainId LE ‖ 0x01 ‖ hash160(key) ‖ xor). */
export function nulsAddressBody(chainId: number, publicKey: Uint8Array): string {
  const hash = concatBytes(Uint8Array.from([chainId & 0xff, (chainId >> 8) & 0xff, 1]), hash160(publicKey));
  return base58.encode(concatBytes(hash, Uint8Array.from([xorByte(hash)])));
}

function chainIdOf(body: Uint8Array): number {
  // struct.unpack("h"): a signed little-endian short.
  return new DataView(body.buffer, body.byteOffset, 2).getInt16(0, true);
}

export function nuls2Address(chainId: number, publicKey: Uint8Array): string | undefined {
  const prefix = NULS2_NETWORKS[chainId];
  return prefix ? prefix + nulsAddressBody(chainId, publicKey) : undefined;
}

export function verifyNuls2(m: SignableMessage): void {
  const chain = m.chain;
  const prefix = m.sender.startsWith('NULS') ? 5 : m.sender.startsWith('tNULS') ? 6 : -1;
  if (prefix < 0) refuse(chain, 'the sender is not a NULS or tNULS address');
  const body = decodeOr(chain, 'the sender', () => base58.decode(m.sender.slice(prefix)));
  if (body.length < 3) refuse(chain, 'the sender is too short');
  const chainId = chainIdOf(body);
  if (!NULS2_NETWORKS[chainId]) refuse(chain, `unsupported NULS chain id ${chainId}`);
  const sig = decodeOr(chain, 'the base64 signature', () => base64.decode(m.signature));
  if (sig.length !== 65 || (sig[0] as number) < 27 || (sig[0] as number) > 30) refuse(chain, 'the signature is not a 65-byte recoverable signature');
  const recovered = new Uint8Array(65);
  recovered[0] = (sig[0] as number) - 27;
  recovered.set(sig.subarray(1), 1);
  const buffer = verificationBytes(m);
  let key: Uint8Array;
  try {
    const point = secp256k1.recoverPublicKey(recovered, sha256(concatBytes(TEMPLATE, varint(buffer.length), buffer)), { prehash: false });
    key = secp256k1.Point.fromBytes(point).toBytes(true);
  } catch {
    return refuse(chain, 'the signature does not recover a key');
  }
  if (nuls2Address(chainId, key) !== m.sender) refuse(chain, 'the signature does not verify for the sender');
}

/** Python's repr() of a bytes object, the text NULS v1 signers put in the template. */
export function pythonBytesRepr(bytes: Uint8Array): string {
  const quote = bytes.includes(0x27) && !bytes.includes(0x22) ? '"' : "'";
  let out = `b${quote}`;
  for (const c of bytes) {
    if (c === quote.charCodeAt(0) || c === 0x5c) out += `\\${String.fromCharCode(c)}`;
    else if (c === 0x09) out += '\\t';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c < 0x20 || c >= 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += String.fromCharCode(c);
  }
  return `${out}${quote}`;
}

/** The bytes a NULS v1 signature covers (before SHA-256). */
export function nuls1SignedBytes(buffer: Uint8Array): Uint8Array {
  return new TextEncoder().encode(`\x18NULS Signed Message:\n${pythonBytesRepr(concatBytes(varint(buffer.length), buffer))}`);
}

function readVarBytes(raw: Uint8Array, at: number): [Uint8Array, number] {
  const first = raw[at];
  if (first === undefined || first >= 253) throw new Error('unsupported length');
  const end = at + 1 + first;
  if (end > raw.length) throw new Error('truncated');
  return [raw.subarray(at + 1, end), end];
}

export function verifyNuls1(m: SignableMessage): void {
  const chain = m.chain;
  const raw = decodeOr(chain, 'the hex signature', () => decodeHex(m.signature.startsWith('0x') ? '!' : m.signature));
  const [publicKey, sig] = decodeOr(chain, 'the signature structure', () => {
    const [key, at] = readVarBytes(raw, 0);
    const [der, end] = readVarBytes(raw, at + 1);
    if (end !== raw.length) throw new Error('trailing bytes');
    return [key, der] as const;
  });
  const body = decodeOr(chain, 'the sender', () => base58.decode(m.sender));
  if (body.length < 3) refuse(chain, 'the sender is too short');
  const address = decodeOr(chain, 'the signature public key', () => nulsAddressBody(chainIdOf(body), secp256k1.Point.fromBytes(publicKey).toBytes(publicKey.length === 33)));
  if (address !== m.sender) refuse(chain, 'the signature public key is not the sender\'s');
  let ok = false;
  try {
    // coincurve (libsecp256k1) verifies DER signatures in low-S form only.
    ok = secp256k1.verify(sig, nuls1SignedBytes(verificationBytes(m)), publicKey, { prehash: true, lowS: true, format: 'der' });
  } catch {
    ok = false;
  }
  if (!ok) refuse(chain, 'the signature does not verify for the sender');
}
