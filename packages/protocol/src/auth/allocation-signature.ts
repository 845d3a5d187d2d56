/**
 * `Authorization: Aleph-EIP191-V1 sig=0x…,payload=<hex>`: how a scheduler (here: the CCN that
 * links a CRN) signs `POST /control/allocations` (crn-api.md §2.1).
 *
 * The reference payload is `{method, path, body_sha256, iat}`: nothing in it says which CRN a
 * push is for, so a CRN that received one could replay it to its siblings and replace their sets.
 * This project's payload also names its target:
 *
 *   {"method", "path", "body_sha256", "iat", "node_hash": "<the CRN's registry hash>", "url": "<the CRN's registered URL>"}
 *
 * The node hash is the CRN's identity (its create-resource-node message): exact, no
 * normalization, unchanged when the node moves to another address. The URL is signed too because
 * a CRN does not always know its own hash (the operator sets `nodeHash` after registering); such
 * a CRN checks that the URL's host is its own domain, which the registry gives to one CRN only.
 * A payload without either field is the reference's, accepted only where a CRN explicitly allows
 * unbound pushes (aleph's own scheduler).
 */
import { z } from 'zod';
import { recoverPersonalSigner, type EthAccount } from '../crypto/eth.ts';
import { decodeHex, encodeHex, utf8 } from '../crypto/hex.ts';
import { sha256Hex } from '../crypto/sha256.ts';
import { ProtocolError } from '../errors.ts';
import type { AllocationReplayGuard } from './allocation-replay.ts';

export const ALLOCATION_AUTH_SCHEME = 'Aleph-EIP191-V1';
export const ALLOCATION_SIGNATURE_MAX_AGE_SECONDS = 300;
export const ALLOCATION_MAX_BODY_BYTES = 1024 * 1024;

export const ALLOCATION_TARGET_URL_MAX = 2048;

const NODE_HASH = /^[0-9a-f]{64}$/;

const PayloadSchema = z.strictObject({
  method: z.string(),
  path: z.string(),
  body_sha256: z.string().regex(/^[0-9a-f]{64}$/),
  iat: z.number().int(),
  node_hash: z.string().regex(NODE_HASH).nullable().optional(),
  url: z.string().max(ALLOCATION_TARGET_URL_MAX).optional(),
});
export type AllocationPayload = z.infer<typeof PayloadSchema>;

/** The CRN a push is for, as the signer knows it from the registry. */
export interface AllocationTarget {
  /** Its registry hash (null when the signer does not know it: then only the URL binds). */
  nodeHash: string | null;
  /** Its registered base URL. */
  url: string;
}

/**
 * Signs a push for `target`. `target: null` signs the reference's unbound payload (what aleph's
 * scheduler sends); only tests of that compatibility path should need it.
 */
export function signAllocationRequest(
  account: EthAccount,
  req: { method: string; path: string; body: Uint8Array | string; iat?: number; target: AllocationTarget | null },
): string {
  const payload: AllocationPayload = {
    method: req.method,
    path: req.path,
    body_sha256: sha256Hex(req.body),
    iat: req.iat ?? Math.floor(Date.now() / 1000),
    ...(req.target ? { node_hash: req.target.nodeHash === null ? null : req.target.nodeHash.toLowerCase(), url: req.target.url } : {}),
  };
  const json = JSON.stringify(payload);
  return `${ALLOCATION_AUTH_SCHEME} sig=${account.signPersonal(json)},payload=${encodeHex(utf8(json))}`;
}

/** Splits the header into its two parameters; any other parameter is an error. */
export function parseAllocationAuthorization(header: string): { sig: string; payloadHex: string } {
  const m = /^\s*(\S+)\s+(.*)$/s.exec(header);
  if (!m || (m[1] as string).toLowerCase() !== ALLOCATION_AUTH_SCHEME.toLowerCase()) {
    throw new ProtocolError('INVALID_AUTH_HEADER', `Authorization scheme must be ${ALLOCATION_AUTH_SCHEME}`);
  }
  const params = new Map<string, string>();
  for (const part of (m[2] as string).split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) throw new ProtocolError('INVALID_AUTH_HEADER', 'malformed Authorization parameter');
    const key = part.slice(0, eq).trim();
    if (key !== 'sig' && key !== 'payload') throw new ProtocolError('INVALID_AUTH_HEADER', `unexpected Authorization parameter ${key.slice(0, 32)}`);
    if (params.has(key)) throw new ProtocolError('INVALID_AUTH_HEADER', `duplicate Authorization parameter ${key}`);
    params.set(key, part.slice(eq + 1).trim());
  }
  const sig = params.get('sig');
  const payloadHex = params.get('payload');
  if (!sig || !payloadHex) throw new ProtocolError('INVALID_AUTH_HEADER', 'Authorization needs both sig and payload');
  return { sig, payloadHex };
}

export interface AllocationRequest {
  authorization: string;
  method: string;
  /** Path without query string. */
  path: string;
  /** True when the request URL had a query string (forbidden). */
  hasQuery: boolean;
  contentLength: number | undefined;
  body: Uint8Array;
}

/** Who the verifying node is: a bound payload must name it. */
export interface AllocationSelf {
  /** This node's registry hash; empty when unknown (then the signed URL's host must be `domain`). */
  nodeHash: string;
  /** This node's DOMAIN_NAME. */
  domain: string;
}

export interface AllocationVerifyOptions {
  authorizedSigners: readonly string[];
  replay: AllocationReplayGuard;
  self: AllocationSelf;
  /** Accept the reference's payload that names no target (off unless the operator allows it). */
  allowUnbound?: boolean;
  now?: number;
}

export interface VerifiedAllocation {
  /** Lowercase address of the signer. */
  signer: string;
  iat: number;
  /** False for the reference's payload without a target. */
  bound: boolean;
}

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  } catch {
    return undefined;
  }
}

/** Whether a bound payload names `self`: by hash when the node knows it, else by its URL's host. */
export function allocationTargetIsSelf(payload: Pick<AllocationPayload, 'node_hash' | 'url'>, self: AllocationSelf): boolean {
  if (self.nodeHash !== '') return typeof payload.node_hash === 'string' && payload.node_hash === self.nodeHash.toLowerCase();
  const host = payload.url === undefined ? undefined : hostOf(payload.url);
  return host !== undefined && host !== '' && host === self.domain.toLowerCase().replace(/^\[(.*)\]$/, '$1');
}

/** A malformed header is INVALID_AUTH_HEADER whatever part of it is broken, not BAD_HEX. */
function decodeHeaderHex(value: string, what: string): Uint8Array {
  try {
    return decodeHex(value, what);
  } catch {
    throw new ProtocolError('INVALID_AUTH_HEADER', `${what} is not valid hex`);
  }
}

/**
 * Verifies a signed allocation request: header, time window, method, path, body, signer, target,
 * then (only when all of them pass) the replay guard, which records the push.
 */
export function verifyAllocationRequest(req: AllocationRequest, opts: AllocationVerifyOptions): VerifiedAllocation {
  const { sig, payloadHex } = parseAllocationAuthorization(req.authorization);
  const payloadBytes = decodeHeaderHex(payloadHex, 'payload');
  let payloadJson: unknown;
  try {
    payloadJson = JSON.parse(Buffer.from(payloadBytes).toString('utf8'));
  } catch {
    throw new ProtocolError('INVALID_AUTH_HEADER', 'payload is not JSON');
  }
  const parsed = PayloadSchema.safeParse(payloadJson);
  if (!parsed.success) throw new ProtocolError('INVALID_AUTH_HEADER', 'payload does not have the expected fields');
  const payload = parsed.data;
  const now = opts.now ?? Math.floor(Date.now() / 1000);
  if (Math.abs(payload.iat - now) > ALLOCATION_SIGNATURE_MAX_AGE_SECONDS) throw new ProtocolError('AUTH_EXPIRED', 'iat is outside the accepted window');
  if (payload.method !== req.method || payload.path !== req.path) throw new ProtocolError('AUTH_MISMATCH', 'signed method or path differ from the request');
  if (req.hasQuery) throw new ProtocolError('AUTH_MISMATCH', 'a signed allocation request must not have a query string');
  if (req.contentLength === undefined || req.contentLength > ALLOCATION_MAX_BODY_BYTES) throw new ProtocolError('AUTH_MISMATCH', 'Content-Length missing or over 1 MiB');
  if (sha256Hex(req.body) !== payload.body_sha256) throw new ProtocolError('AUTH_MISMATCH', 'body does not match body_sha256');
  const signer = recoverPersonalSigner(payloadBytes, sig).toLowerCase();
  if (!opts.authorizedSigners.some((a) => a.toLowerCase() === signer)) throw new ProtocolError('UNAUTHORIZED_SIGNER', 'signer is not an authorized allocation signer');
  const bound = payload.node_hash !== undefined || payload.url !== undefined;
  if (!bound && opts.allowUnbound !== true) throw new ProtocolError('AUTH_MISMATCH', 'the signed payload does not name its target node (node_hash, url)');
  if (bound && !allocationTargetIsSelf(payload, opts.self)) throw new ProtocolError('AUTH_MISMATCH', 'the signed payload names another node');
  if (!opts.replay.accept(signer, payload.iat, sha256Hex(payloadBytes))) {
    throw new ProtocolError('AUTH_REPLAYED', 'this signed request was already used, or is older than the last one accepted from its signer');
  }
  return { signer, iat: payload.iat, bound };
}
