/**
 * Substrate / Polkadot (DOT): sr25519 (Schnorrkel) over the verification buffer, with the sender
 * an SS58 address of the 32-byte public key (or that key as 0x hex). The signature field is JSON
 * `{"curve": "sr25519", "data": "0x<64 bytes hex>"}`. As py-substrate-interface (pyaleph's
 * verifier) does, a signature over `<Bytes>buffer</Bytes>` is accepted too: the polkadot.js
 * browser extension wraps what it signs that way.
 */
import { blake2b } from '@noble/hashes/blake2.js';
import { base58 } from '@scure/base';
import * as sr25519 from '@scure/sr25519';
import { decodeHex } from './hex.ts';
import { bytesEqual, concatBytes, decodeOr, refuse, signatureObject, verificationBytes, type SignableMessage } from './signable.ts';

const SS58_PREFIX = new TextEncoder().encode('SS58PRE');

/**
 * The 32-byte account id of an SS58 address (any network format but the reserved 46/47), or of
 * a `0x` + 64 hex public key, which py-substrate-interface takes as the key itself.
 */
export function ss58PublicKey(address: string): Uint8Array | undefined {
  if (/^0x[0-9a-fA-F]{64}$/.test(address)) return decodeHex(address);
  let raw: Uint8Array;
  try {
    raw = base58.decode(address);
  } catch {
    return undefined;
  }
  if (raw.length < 2) return undefined;
  const formatLength = (raw[0] as number) & 0b0100_0000 ? 2 : 1;
  const format = formatLength === 1 ? (raw[0] as number) : (((raw[0] as number) & 0x3f) << 2) | ((raw[1] as number) >> 6) | (((raw[1] as number) & 0x3f) << 8);
  if (format === 46 || format === 47) return undefined;
  if (raw.length !== formatLength + 32 + 2) return undefined;
  const body = raw.subarray(0, raw.length - 2);
  if (!bytesEqual(blake2b(concatBytes(SS58_PREFIX, body)).subarray(0, 2), raw.subarray(raw.length - 2))) return undefined;
  return raw.subarray(formatLength, formatLength + 32);
}

function verifySr25519(sig: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  try {
    return sr25519.verify(message, sig, publicKey);
  } catch {
    return false;
  }
}

export function verifySubstrate(m: SignableMessage): void {
  const chain = m.chain;
  const obj = signatureObject(chain, m.signature);
  if ((obj.curve ?? 'sr25519') !== 'sr25519') refuse(chain, `unsupported curve ${JSON.stringify(obj.curve)}`);
  const data = obj.data;
  if (typeof data !== 'string' || !data.startsWith('0x')) refuse(chain, 'the signature object has no 0x-hex "data"');
  const sig = decodeOr(chain, 'the hex signature data', () => decodeHex(data));
  if (sig.length !== 64) refuse(chain, 'the signature is not 64 bytes');
  const publicKey = ss58PublicKey(m.sender);
  if (!publicKey) refuse(chain, 'the sender is neither an SS58 address of a 32-byte key nor a 0x hex key');
  const buffer = verificationBytes(m);
  const enc = new TextEncoder();
  if (verifySr25519(sig, buffer, publicKey)) return;
  if (verifySr25519(sig, concatBytes(enc.encode('<Bytes>'), buffer, enc.encode('</Bytes>')), publicKey)) return;
  refuse(chain, 'the signature does not verify for the sender');
}
