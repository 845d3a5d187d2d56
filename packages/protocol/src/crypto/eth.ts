/**
 * Ethereum account primitives used by every EVM chain of the protocol: EIP-191 personal_sign
 * digests, signing, public-key recovery and EIP-55 addresses.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { ProtocolError } from '../errors.ts';
import { decodeHex, encodeHex, utf8 } from './hex.ts';
import { DEFAULT_RECOVERER, type EcdsaRecoverer } from './secp256k1-recover.ts';

const ADDRESS_RE = /^0x[0-9a-fA-F]{40}$/;

export function isEthAddress(value: string): boolean {
  return ADDRESS_RE.test(value);
}

/** EIP-191 version 0x45 digest: keccak256("\x19Ethereum Signed Message:\n" + len + message). */
export function personalMessageDigest(message: Uint8Array): Uint8Array {
  const prefix = utf8(`\x19Ethereum Signed Message:\n${message.length}`);
  const buf = new Uint8Array(prefix.length + message.length);
  buf.set(prefix, 0);
  buf.set(message, prefix.length);
  return keccak_256(buf);
}

/** EIP-55 mixed-case checksum form of an address. */
export function toChecksumAddress(address: string): string {
  if (!isEthAddress(address)) throw new ProtocolError('INVALID_ENVELOPE', `not an Ethereum address: ${address}`);
  const lower = address.slice(2).toLowerCase();
  const hash = encodeHex(keccak_256(utf8(lower)));
  let out = '0x';
  for (let i = 0; i < lower.length; i++) {
    const c = lower[i] as string;
    out += parseInt(hash[i] as string, 16) >= 8 ? c.toUpperCase() : c;
  }
  return out;
}

export function addressFromPublicKey(publicKey: Uint8Array): string {
  const point = secp256k1.Point.fromBytes(publicKey);
  const uncompressed = point.toBytes(false); // 0x04 || X || Y
  const hash = keccak_256(uncompressed.subarray(1));
  return toChecksumAddress(`0x${encodeHex(hash.subarray(12))}`);
}

/**
 * Parses a 65-byte r‖s‖v signature (v = 27/28, or 0/1) into r‖s and the recovery id. Anything
 * else is INVALID_SIGNATURE.
 */
function parseSignature(signature: string): { rs: Uint8Array; recovery: 0 | 1 } {
  let raw: Uint8Array;
  try {
    raw = decodeHex(signature, 'signature');
  } catch {
    throw new ProtocolError('INVALID_SIGNATURE', 'signature is not valid hex');
  }
  if (raw.length !== 65) throw new ProtocolError('INVALID_SIGNATURE', `signature must be 65 bytes, got ${raw.length}`);
  const v = raw[64] as number;
  const recovery = v >= 27 ? v - 27 : v;
  if (recovery !== 0 && recovery !== 1) throw new ProtocolError('INVALID_SIGNATURE', `invalid recovery byte ${v}`);
  return { rs: raw.subarray(0, 64), recovery };
}

/**
 * The lower-case address that personal_signed `message`, recovered with `recoverer` (tests and
 * the bench compare implementations); throws INVALID_SIGNATURE.
 */
export function recoverPersonalAddressWith(recoverer: EcdsaRecoverer, message: Uint8Array, signature: string): string {
  const { rs, recovery } = parseSignature(signature);
  let publicKey: Uint8Array;
  try {
    publicKey = recoverer.recover(rs, recovery, personalMessageDigest(message));
  } catch {
    throw new ProtocolError('INVALID_SIGNATURE', 'signature does not recover a public key');
  }
  if (publicKey.length !== 65 || publicKey[0] !== 4) throw new ProtocolError('INVALID_SIGNATURE', 'signature does not recover a public key');
  return `0x${encodeHex(keccak_256(publicKey.subarray(1)).subarray(12))}`;
}

/** Recovers the checksummed address that personal_signed `message`; throws INVALID_SIGNATURE. */
export function recoverPersonalSigner(message: Uint8Array, signature: string): string {
  return toChecksumAddress(recoverPersonalAddressWith(DEFAULT_RECOVERER, message, signature));
}

/** True when `signature` over `message` recovers `address` (compared case-insensitively). */
export function verifyPersonalSignature(message: Uint8Array, signature: string, address: string): boolean {
  try {
    // Compared in lower case: the checksum form would cost one more hash per message.
    return recoverPersonalAddressWith(DEFAULT_RECOVERER, message, signature) === address.toLowerCase();
  } catch {
    return false;
  }
}

/** A secp256k1 key that signs like a wallet's personal_sign. */
export class EthAccount {
  readonly address: string;
  readonly #privateKey: Uint8Array;

  private constructor(privateKey: Uint8Array) {
    if (!secp256k1.utils.isValidSecretKey(privateKey)) {
      throw new ProtocolError('BAD_HEX', 'not a valid secp256k1 private key');
    }
    this.#privateKey = privateKey;
    this.address = addressFromPublicKey(secp256k1.getPublicKey(privateKey, false));
  }

  static fromPrivateKey(hex: string): EthAccount {
    return new EthAccount(decodeHex(hex, 'private key'));
  }

  static generate(): EthAccount {
    return new EthAccount(secp256k1.utils.randomSecretKey());
  }

  /** Hex of the private key, for writing key files; handle with care. */
  exportPrivateKey(): string {
    return encodeHex(this.#privateKey, true);
  }

  /** personal_sign: 0x + r‖s‖v with v = 27/28, as wallets and the SDK produce. */
  signPersonal(message: Uint8Array | string): string {
    const bytes = typeof message === 'string' ? utf8(message) : message;
    const sig = secp256k1.sign(personalMessageDigest(bytes), this.#privateKey, { prehash: false, format: 'recovered' });
    const out = new Uint8Array(65);
    out.set(sig.subarray(1), 0);
    out[64] = (sig[0] as number) + 27;
    return encodeHex(out, true);
  }
}
