/**
 * One dispatcher from chain to signature scheme, following pyaleph's SignatureVerifier table.
 * Every refusal is a ProtocolError naming the chain: INVALID_SIGNATURE (or INVALID_ENVELOPE /
 * BAD_HEX for a malformed EVM sender or signature, as before) and UNSUPPORTED_CHAIN for a chain
 * no scheme covers. Nothing else escapes, whatever the input.
 */
import { isEvmChain } from '../chains.ts';
import { isProtocolError, ProtocolError } from '../errors.ts';
import { verifyAvalanche } from './avalanche.ts';
import { verifyCosmos } from './cosmos.ts';
import { isEthAddress, verifyPersonalSignature } from './eth.ts';
import { verifyNuls1, verifyNuls2 } from './nuls.ts';
import { verificationBytes, type SignableMessage } from './signable.ts';
import { verifySolana } from './solana.ts';
import { verifySubstrate } from './substrate.ts';
import { verifyTezos } from './tezos.ts';

export type { SignableMessage } from './signable.ts';

const EVM_SIGNATURE_RE = /^0x[0-9a-fA-F]{130}$/;

function verifyEvm(m: SignableMessage): void {
  if (!isEthAddress(m.sender)) throw new ProtocolError('INVALID_ENVELOPE', 'sender is not an Ethereum address');
  if (!EVM_SIGNATURE_RE.test(m.signature)) {
    // Well-formed hex of the wrong length or without the 0x prefix is a bad signature; only
    // characters outside hex are BAD_HEX.
    if (/^(?:0x)?[0-9a-fA-F]*$/.test(m.signature)) throw new ProtocolError('INVALID_SIGNATURE', 'signature must be 0x followed by 130 hex characters');
    throw new ProtocolError('BAD_HEX', 'signature is not valid hex');
  }
  if (!verifyPersonalSignature(verificationBytes(m), m.signature, m.sender)) {
    throw new ProtocolError('INVALID_SIGNATURE', 'signature does not recover the sender');
  }
}

/**
 * Chains verified with a scheme of their own. NEO is verified with the Ethereum scheme, as
 * pyaleph does; AVAX with Avalanche's native one unless the sender is a 0x (C-chain) address.
 */
const SCHEMES: Readonly<Record<string, (m: SignableMessage) => void>> = {
  AVAX: (m) => (m.sender.startsWith('0x') ? verifyEvm(m) : verifyAvalanche(m)),
  CSDK: verifyCosmos,
  DOT: verifySubstrate,
  ES: verifySolana, // Eclipse (aleph-message Chain.ECLIPSE = "ES")
  NEO: verifyEvm,
  NULS: verifyNuls1,
  NULS2: verifyNuls2,
  SOL: verifySolana,
  TEZOS: verifyTezos,
};

/** Chains accepted in the envelope that no scheme here verifies, with the reason. */
export const UNVERIFIED_CHAINS: Readonly<Record<string, string>> = {
  STT: 'pyaleph has no signature verifier for Somnia (STT), so no node can accept its messages',
};

export function isVerifiedChain(chain: string): boolean {
  return Object.hasOwn(SCHEMES, chain) || isEvmChain(chain);
}

/** Throws a ProtocolError unless `m.signature` is the sender's signature of the verification buffer. */
export function verifyMessageSignature(m: SignableMessage): void {
  const scheme = Object.hasOwn(SCHEMES, m.chain) ? SCHEMES[m.chain] : isEvmChain(m.chain) ? verifyEvm : undefined;
  if (!scheme) {
    const why = UNVERIFIED_CHAINS[m.chain] ?? 'no signature scheme is known for it';
    throw new ProtocolError('UNSUPPORTED_CHAIN', `signatures of chain ${m.chain} are not verified by this node: ${why}`);
  }
  try {
    scheme(m);
  } catch (err) {
    if (isProtocolError(err)) throw err;
    // A library throwing on hostile input is a refused signature, never a crash.
    throw new ProtocolError('INVALID_SIGNATURE', `${m.chain} signature refused: it could not be decoded`);
  }
}
