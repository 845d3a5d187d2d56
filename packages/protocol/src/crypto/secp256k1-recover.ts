/**
 * Public-key recovery of secp256k1 signatures, the cost of every EVM message a node ingests.
 * libsecp256k1 (the `secp256k1` package's prebuilt binding, what pyaleph verifies with) is ~40×
 * faster than the pure-JS @noble implementation; noble stays the fallback where the binding
 * cannot load (another platform, a stripped install). Both answer the same (a differential
 * test checks it): the 65-byte uncompressed public key, or a throw for any signature that does
 * not recover one.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { createRequire } from 'node:module';

export interface EcdsaRecoverer {
  readonly name: 'libsecp256k1' | 'noble';
  /** `signature` is r‖s (64 bytes), `recovery` 0 or 1, `digest` 32 bytes; throws when nothing recovers. */
  recover(signature: Uint8Array, recovery: 0 | 1, digest: Uint8Array): Uint8Array;
}

/** The shape of the `secp256k1` package's binding used here. */
interface NativeSecp256k1 {
  ecdsaRecover(sig: Uint8Array, recid: number, msg32: Uint8Array, compressed: boolean): Uint8Array;
}

export const NOBLE_RECOVERER: EcdsaRecoverer = {
  name: 'noble',
  recover(signature, recovery, digest) {
    const sig = new Uint8Array(65);
    sig[0] = recovery;
    sig.set(signature, 1);
    // The Signature API rather than recoverPublicKey(), which answers the compressed form.
    return secp256k1.Signature.fromBytes(sig, 'recovered').recoverPublicKey(digest).toBytes(false);
  },
};

function loadNative(): { recoverer?: EcdsaRecoverer; error?: string } {
  if (process.env.ALEPH_SECP256K1 === 'js') return { error: 'ALEPH_SECP256K1=js asks for the JavaScript implementation' };
  try {
    // `secp256k1/bindings` and not the package root: the root silently falls back to elliptic
    // (pure JS, slower than noble) when the binary does not load, and we want to know.
    const native = createRequire(import.meta.url)('secp256k1/bindings') as NativeSecp256k1;
    const recoverer: EcdsaRecoverer = {
      name: 'libsecp256k1',
      recover: (signature, recovery, digest) => native.ecdsaRecover(signature, recovery, digest, false),
    };
    return { recoverer };
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
}

const NATIVE = loadNative();

/** The native recoverer, or undefined when libsecp256k1 could not be loaded in this process. */
export const NATIVE_RECOVERER: EcdsaRecoverer | undefined = NATIVE.recoverer;

/** What signature recovery runs on in this process (a node logs it once at start). */
export const SIGNATURE_BACKEND: Readonly<{ name: EcdsaRecoverer['name']; nativeError?: string }> = NATIVE.recoverer
  ? { name: 'libsecp256k1' }
  : { name: 'noble', ...(NATIVE.error ? { nativeError: NATIVE.error } : {}) };

/** The recoverer used by default: native when loaded, noble otherwise. */
export const DEFAULT_RECOVERER: EcdsaRecoverer = NATIVE.recoverer ?? NOBLE_RECOVERER;
