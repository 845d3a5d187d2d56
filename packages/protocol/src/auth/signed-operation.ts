/**
 * VM-owner authentication (crn-api.md §2.2): the wallet signs an ephemeral P-256 key once
 * (`X-SignedPubKey`), and that key signs each request (`X-SignedOperation`).
 *
 * The reference accepts an operation as often as it is presented within its ±120 s window. Here
 * verification also returns the operation's identity (`operation.key`) and how long it stays
 * valid, so that the node can accept each operation once (the CRN keeps the used keys on disk).
 */
import { p256 } from '@noble/curves/nist.js';
import { z } from 'zod';
import { base58 } from '@scure/base';
import { EthAccount, recoverPersonalSigner } from '../crypto/eth.ts';
import { verifyEd25519, type SolanaAccount } from '../crypto/solana.ts';
import { decodeHex, encodeHex, utf8 } from '../crypto/hex.ts';
import { sha256Hex } from '../crypto/sha256.ts';
import { ProtocolError } from '../errors.ts';

/** How far an operation's `time` may be from now, in seconds. */
export const OPERATION_MAX_SKEW_SECONDS = 120;

const SignedEnvelope = z.object({ payload: z.string().min(1), signature: z.string().min(1) });

const Jwk = z.object({ kty: z.literal('EC'), crv: z.literal('P-256'), x: z.string(), y: z.string() });

/**
 * aleph-vm's SignedPubKeyPayload: `pubkey`, `address` and `expires` are required; `chain`
 * defaults to ETH; `alg` and `domain` (sent by the SDKs) are neither required nor checked.
 */
const PubKeyPayload = z.object({
  pubkey: Jwk,
  address: z.string(),
  chain: z.string().default('ETH'),
  expires: z.string(),
});

/** The wallet chains aleph-vm accepts for owner keys. */
export const OWNER_CHAINS = ['ETH', 'SOL'] as const;
export type OwnerChain = (typeof OWNER_CHAINS)[number];

const OperationPayload = z.object({
  time: z.string(),
  method: z.string(),
  path: z.string(),
  domain: z.string(),
});

export interface OwnerOperationRequest {
  /** Header values as received (JSON strings), or objects from the websocket auth frame. */
  signedPubKey: string | unknown;
  signedOperation: string | unknown;
  method: string;
  /** Request path without query string. */
  path: string;
  /** This node's DOMAIN_NAME. */
  domain: string;
  /** Unix milliseconds; defaults to the clock. */
  nowMs?: number;
}

export interface OwnerIdentity {
  address: string;
  chain: OwnerChain;
}

/** What makes an operation single-use. */
export interface OwnerOperationUse {
  /**
   * SHA-256 over the ephemeral public key and the signed operation bytes. Not over the
   * signature: ECDSA signatures are malleable ((r, n−s) verifies too, and S is not normalized),
   * so a replay could carry another signature of the same operation.
   */
  key: string;
  /** Unix ms after which the operation no longer verifies (its time + the skew). */
  expiresAtMs: number;
}

export interface VerifiedOwnerOperation extends OwnerIdentity {
  operation: OwnerOperationUse;
}

function decodeSigned(value: unknown, header: string): { payload: Uint8Array; signature: string; json: unknown } {
  let obj = value;
  if (typeof value === 'string') {
    try {
      obj = JSON.parse(value);
    } catch {
      throw new ProtocolError('INVALID_AUTH_HEADER', `${header} is not JSON`);
    }
  }
  const env = SignedEnvelope.safeParse(obj);
  if (!env.success) throw new ProtocolError('INVALID_AUTH_HEADER', `${header} needs payload and signature`);
  // Malformed headers are INVALID_AUTH_HEADER (HTTP 400), whatever part is broken.
  let payload: Uint8Array;
  try {
    payload = decodeHex(env.data.payload, `${header} payload`);
  } catch {
    throw new ProtocolError('INVALID_AUTH_HEADER', `${header} payload is not hex`);
  }
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch {
    throw new ProtocolError('INVALID_AUTH_HEADER', `${header} payload is not JSON`);
  }
  return { payload, signature: env.data.signature, json };
}

function isOwnerChain(chain: string): chain is OwnerChain {
  return (OWNER_CHAINS as readonly string[]).includes(chain);
}

/**
 * The wallet's signature of the pubkey payload, as aleph-vm checks it: ETH personal_sign over
 * the payload bytes; SOL ed25519 over the payload's hex text (solathon's verify_signature of
 * `payload.hex()`), with the address the base58 public key. Signatures are hex, 0x optional.
 */
function walletSigned(chain: OwnerChain, payload: Uint8Array, signature: string, address: string): boolean {
  if (chain === 'ETH') return recoverPersonalSigner(payload, signature).toLowerCase() === address.toLowerCase();
  let publicKey: Uint8Array;
  try {
    publicKey = base58.decode(address);
  } catch {
    throw new ProtocolError('INVALID_AUTH_HEADER', 'X-SignedPubKey address is not a base58 Solana key');
  }
  if (publicKey.length !== 32) throw new ProtocolError('INVALID_AUTH_HEADER', 'X-SignedPubKey address is not a 32-byte Solana key');
  let sig: Uint8Array;
  try {
    sig = decodeHex(signature, 'X-SignedPubKey signature');
  } catch {
    throw new ProtocolError('INVALID_AUTH_HEADER', 'X-SignedPubKey signature is not hex');
  }
  return sig.length === 64 && verifyEd25519(sig, utf8(encodeHex(payload)), publicKey);
}

function parseIsoMs(value: string, what: string): number {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new ProtocolError('INVALID_AUTH_HEADER', `${what} is not an ISO 8601 time`);
  return ms;
}

/**
 * Verifies both headers and returns who signed. Throws INVALID_AUTH_HEADER for malformed
 * headers (HTTP 400) and AUTH_* / INVALID_SIGNATURE for failed checks (HTTP 401).
 */
export function verifyOwnerOperation(req: OwnerOperationRequest): VerifiedOwnerOperation {
  const nowMs = req.nowMs ?? Date.now();
  const pub = decodeSigned(req.signedPubKey, 'X-SignedPubKey');
  const pubPayload = PubKeyPayload.safeParse(pub.json);
  if (!pubPayload.success) throw new ProtocolError('INVALID_AUTH_HEADER', 'X-SignedPubKey payload does not have the expected fields');
  const { pubkey, address, chain: chainName, expires } = pubPayload.data;
  if (!isOwnerChain(chainName)) throw new ProtocolError('UNSUPPORTED_CHAIN', `owner keys of chain ${chainName.slice(0, 32)} are not supported (only ${OWNER_CHAINS.join(', ')}, as aleph-vm)`);
  const chain = chainName;
  // The reference does not check the pubkey payload's `domain`; neither do we.
  if (!walletSigned(chain, pub.payload, pub.signature, address)) {
    throw new ProtocolError('INVALID_SIGNATURE', 'X-SignedPubKey is not signed by its address');
  }
  if (parseIsoMs(expires, 'expires') <= nowMs) throw new ProtocolError('AUTH_EXPIRED', 'the signed ephemeral key has expired');

  const op = decodeSigned(req.signedOperation, 'X-SignedOperation');
  const opPayload = OperationPayload.safeParse(op.json);
  if (!opPayload.success) throw new ProtocolError('INVALID_AUTH_HEADER', 'X-SignedOperation payload does not have the expected fields');
  const { time, method, path, domain } = opPayload.data;
  const timeMs = parseIsoMs(time, 'operation time');
  if (Math.abs(timeMs - nowMs) > OPERATION_MAX_SKEW_SECONDS * 1000) {
    throw new ProtocolError('AUTH_EXPIRED', 'operation time is too far from now');
  }
  if (domain !== req.domain) throw new ProtocolError('AUTH_MISMATCH', 'operation domain is not this node');
  if (path !== req.path) throw new ProtocolError('AUTH_MISMATCH', 'operation path differs from the request');
  if (method.toUpperCase() !== req.method.toUpperCase()) throw new ProtocolError('AUTH_MISMATCH', 'operation method differs from the request');

  let ok = false;
  const point = new Uint8Array([4, ...Buffer.from(pubkey.x, 'base64url'), ...Buffer.from(pubkey.y, 'base64url')]);
  try {
    // WebCrypto signs raw r‖s (IEEE P1363) over SHA-256 and does not normalize S.
    ok = p256.verify(decodeHex(op.signature, 'operation signature'), op.payload, point, { prehash: true, lowS: false });
  } catch {
    ok = false;
  }
  if (!ok) throw new ProtocolError('INVALID_SIGNATURE', 'X-SignedOperation signature is not valid for the signed key');
  const keyed = new Uint8Array(point.length + op.payload.length);
  keyed.set(point);
  keyed.set(op.payload, point.length);
  return { address, chain, operation: { key: sha256Hex(keyed), expiresAtMs: timeMs + OPERATION_MAX_SKEW_SECONDS * 1000 } };
}

/** An ephemeral P-256 key signed by a wallet, as the SDK's VmClient builds it (for tests and the CLI). */
export class OwnerSession {
  readonly #secret: Uint8Array;
  readonly signedPubKey: string;

  constructor(account: EthAccount | SolanaAccount, domain: string, expiresAt: Date = new Date(Date.now() + 24 * 3600 * 1000)) {
    this.#secret = p256.utils.randomSecretKey();
    const pub = p256.getPublicKey(this.#secret, false);
    const jwk = {
      kty: 'EC',
      crv: 'P-256',
      x: Buffer.from(pub.subarray(1, 33)).toString('base64url'),
      y: Buffer.from(pub.subarray(33, 65)).toString('base64url'),
    };
    const chain = account instanceof EthAccount ? 'ETH' : 'SOL';
    const payload = JSON.stringify({ pubkey: jwk, alg: 'ECDSA', domain, address: account.address, chain, expires: expiresAt.toISOString() });
    const hex = encodeHex(utf8(payload));
    const signature = account instanceof EthAccount ? account.signPersonal(payload) : encodeHex(account.signBytes(utf8(hex)));
    this.signedPubKey = JSON.stringify({ payload: hex, signature });
  }

  /** The X-SignedOperation header for one request. */
  signOperation(op: { method: string; path: string; domain: string; time?: Date }): string {
    const payload = JSON.stringify({ time: (op.time ?? new Date()).toISOString(), method: op.method, path: op.path, domain: op.domain });
    const sig = p256.sign(utf8(payload), this.#secret, { prehash: true, lowS: false });
    return JSON.stringify({ payload: encodeHex(utf8(payload)), signature: encodeHex(sig) });
  }
}
