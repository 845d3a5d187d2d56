/**
 * Solana (and Eclipse, chain `ES`, an SVM chain pyaleph verifies the same way): ed25519 over the
 * verification buffer. The signature field is JSON `{"signature", "publicKey"[, "version": 1]}`,
 * both base58; the sender must be the publicKey string itself.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { base58 } from '@scure/base';
import { decodeOr, refuse, signatureObject, stringField, verificationBytes, type SignableMessage } from './signable.ts';

export function verifySolana(m: SignableMessage): void {
  const chain = m.chain;
  const obj = signatureObject(chain, m.signature);
  const sig = decodeOr(chain, 'the base58 signature', () => base58.decode(stringField(chain, obj, 'signature')));
  const publicKeyText = stringField(chain, obj, 'publicKey');
  const publicKey = decodeOr(chain, 'the base58 publicKey', () => base58.decode(publicKeyText));
  if ((obj.version ?? 1) !== 1) refuse(chain, `unsupported signature version ${JSON.stringify(obj.version)}`);
  if (publicKeyText !== m.sender) refuse(chain, 'the publicKey is not the sender');
  if (publicKey.length !== 32) refuse(chain, 'the publicKey is not 32 bytes');
  if (sig.length !== 64) refuse(chain, 'the signature is not 64 bytes');
  if (!verifyEd25519(sig, verificationBytes(m), publicKey)) refuse(chain, 'the signature does not verify for the sender');
}

/**
 * Verification as libsodium's crypto_sign_verify_detached (PyNaCl, pyaleph's verifier) does it:
 * RFC 8032 encodings and canonical S (no ZIP-215 leniency), and no small-order public key or R,
 * under which a "signature" would hold for any message. A malformed key or signature is false,
 * never a throw.
 */
export function verifyEd25519(sig: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  try {
    if (sig.length !== 64 || publicKey.length !== 32) return false;
    if (ed25519.Point.fromBytes(publicKey).isSmallOrder() || ed25519.Point.fromBytes(sig.subarray(0, 32)).isSmallOrder()) return false;
    return ed25519.verify(sig, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

/** An ed25519 key that signs like a Solana wallet (base58 address = public key). For tests and tools. */
export class SolanaAccount {
  readonly chain = 'SOL';
  readonly address: string;
  readonly #secret: Uint8Array;

  private constructor(secret: Uint8Array) {
    this.#secret = secret;
    this.address = base58.encode(ed25519.getPublicKey(secret));
  }

  static generate(): SolanaAccount {
    return new SolanaAccount(ed25519.utils.randomSecretKey());
  }

  /** From the 32-byte seed (the first half of a Solana keypair file). */
  static fromSeed(seed: Uint8Array): SolanaAccount {
    if (seed.length !== 32) throw new Error('a Solana seed is 32 bytes');
    return new SolanaAccount(Uint8Array.from(seed));
  }

  signBytes(bytes: Uint8Array): Uint8Array {
    return ed25519.sign(bytes, this.#secret);
  }

  /** The message signature field: JSON `{"signature","publicKey"}`, as the SDKs write it. */
  signVerificationBuffer(buffer: string): string {
    const signature = base58.encode(this.signBytes(new TextEncoder().encode(buffer)));
    return JSON.stringify({ signature, publicKey: this.address });
  }
}
