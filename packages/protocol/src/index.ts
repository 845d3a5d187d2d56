/**
 * @aleph-nodes/protocol: the Aleph wire formats shared by the CCN, the CRN and the tests.
 * Pure functions and schemas; no I/O.
 */
export * from './errors.ts';
export * from './limits.ts';
export * from './chains.ts';
export * from './item-hash.ts';
export * from './envelope.ts';
export * from './message.ts';
export * from './build.ts';
export * from './content/index.ts';
export * from './crypto/eth.ts';
export { DEFAULT_RECOVERER, NATIVE_RECOVERER, NOBLE_RECOVERER, SIGNATURE_BACKEND, type EcdsaRecoverer } from './crypto/secp256k1-recover.ts';
export * from './crypto/hex.ts';
export * from './crypto/sha256.ts';
export * from './crypto/signer.ts';
export { SolanaAccount } from './crypto/solana.ts';
export { verifyMessageSignature, isVerifiedChain, UNVERIFIED_CHAINS, type SignableMessage } from './crypto/verify.ts';
export * from './auth/allocation-signature.ts';
export * from './auth/allocation-replay.ts';
export * from './auth/signed-operation.ts';
export * from './hostname.ts';
export * from './cost/index.ts';
export * from './payments/index.ts';
export * from './paths.ts';
export * from './crn-api/index.ts';
// What a CRN reads from a CCN to check payments (balance, flows, message state).
export * from './payments/account-reads.ts';
