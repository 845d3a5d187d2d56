/**
 * The CCN heartbeat: what a CCN says about itself every `heartbeatIntervalSeconds`, signed with
 * its node key, so that every CCN can tell which CCNs are live and which workloads each one has
 * placed on which of its CRNs (the input of the ownership rule, scheduler/ownership.ts).
 *
 * Wire form (gossip message data and each entry of `GET /api/v0/network/heartbeats`):
 *   {"payload": "<JSON text of HeartbeatPayload>", "signature": "0x…"}
 * The signature is EIP-191 personal_sign over `HEARTBEAT_DOMAIN + payload`: the domain prefix
 * makes a heartbeat signature useless as any other signed object of the network (a message, an
 * allocation push, an owner operation) and the other way round. The payload is kept as text so
 * that the signature covers exact bytes (no canonical JSON needed).
 *
 * Who may sign: the registry's `owner` or `manager` of the node hash the heartbeat names. A CCN
 * signs with its node key, which is the address it registered with (`create-node` sender), or
 * the address its owner made its manager (an owner operation the registry has) when the owner
 * keeps a cold wallet.
 *
 * Everything here comes from a peer: sizes and list lengths are bounded before anything else,
 * the payload is parsed by a strict schema, and nothing is trusted before the signature and the
 * signer check pass.
 */
import { isItemHash, recoverPersonalSigner, type EthAccount } from '@aleph-nodes/protocol';
import { z } from 'zod';
import type { CcnEntry } from '../registry/types.ts';

export const HEARTBEAT_DOMAIN = 'aleph-ccn-heartbeat/1\n';
/** Largest envelope accepted (gossipsub's max transmit size is 262,144 bytes). */
export const MAX_HEARTBEAT_BYTES = 240 * 1024;
/** Linked CRNs a heartbeat may list (the registry allows 3 by default; headroom for a larger setting). */
export const MAX_HEARTBEAT_CRNS = 64;
/** Workloads a heartbeat may list per CRN, and unplaced ones in total (keeps it under the size cap). */
export const MAX_HEARTBEAT_WORKLOADS = 1500;

const hash64 = z.string().regex(/^[0-9a-f]{64}$/, 'a 64-hex-digit hash');
const itemHash = z.string().max(128).refine(isItemHash, 'not an item hash');
const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'an 0x Ethereum address');

const CapacitySchema = z.strictObject({
  cpu_count: z.number().int().min(0).max(1_000_000),
  memory_total_mib: z.number().min(0),
  memory_available_mib: z.number(),
  disk_available_mib: z.number(),
  architecture: z.string().max(64),
  vendor: z.string().max(128),
  features: z.array(z.string().max(64)).max(256),
  gpus: z.array(z.string().max(128)).max(64),
});

const PlacedSchema = z.strictObject({
  item_hash: itemHash,
  /** Unix seconds (the placing CCN's clock) of the decision that put it on this CRN. */
  decided_at: z.number().min(0),
});

const ReportedCrnSchema = z.strictObject({
  hash: hash64,
  health: z.enum(['unknown', 'healthy', 'down']),
  capacity: CapacitySchema.nullable(),
  workloads: z.array(PlacedSchema).max(MAX_HEARTBEAT_WORKLOADS),
});

export const HeartbeatPayloadSchema = z.strictObject({
  v: z.literal(1),
  node_hash: hash64,
  address,
  /** Unix seconds (float) when it was signed. */
  time: z.number().positive(),
  /** Base URL of its HTTP API ('' when it does not know it). */
  url: z.union([z.literal(''), z.string().max(512).regex(/^https?:\/\/[^\s]+$/, 'an http(s) URL')]),
  /** False when its scheduler is off (it monitors its CRNs but places nothing). */
  schedules: z.boolean(),
  crns: z.array(ReportedCrnSchema).max(MAX_HEARTBEAT_CRNS),
  /** Workloads it manages but could place on none of its CRNs (the next CCN in rank takes them). */
  unplaced: z.array(itemHash).max(MAX_HEARTBEAT_WORKLOADS),
});

export type HeartbeatPayload = z.infer<typeof HeartbeatPayloadSchema>;
export type ReportedCrn = z.infer<typeof ReportedCrnSchema>;
export type ReportedCapacity = z.infer<typeof CapacitySchema>;

export const HeartbeatEnvelopeSchema = z.strictObject({
  payload: z.string().max(MAX_HEARTBEAT_BYTES),
  signature: z.string().regex(/^0x[0-9a-fA-F]{130}$/, 'a 65-byte hex signature'),
});
export type HeartbeatEnvelope = z.infer<typeof HeartbeatEnvelopeSchema>;

/** Signs a payload with the node key. */
export function signHeartbeat(account: EthAccount, payload: HeartbeatPayload): HeartbeatEnvelope {
  const text = JSON.stringify(HeartbeatPayloadSchema.parse(payload));
  return { payload: text, signature: account.signPersonal(HEARTBEAT_DOMAIN + text) };
}

export type HeartbeatRejection = 'malformed' | 'bad_signature' | 'wrong_signer' | 'unknown_node' | 'future' | 'stale';

export class HeartbeatError extends Error {
  override readonly name = 'HeartbeatError';
  constructor(
    readonly code: HeartbeatRejection,
    message: string,
  ) {
    super(message);
  }
}

export interface VerifyContext {
  /** The registry's CCN entries (who may sign for which node hash). */
  nodes: readonly Pick<CcnEntry, 'hash' | 'owner' | 'manager'>[];
  /** Unix seconds, local clock. */
  now: number;
  /** How far ahead of the local clock a heartbeat may be dated. */
  maxClockSkewSeconds: number;
  /** Older than this is stale (the signer would already be down). */
  downAfterSeconds: number;
  /** Accept a stale heartbeat (as the last word of a CCN that is down: its placements), not for liveness. */
  allowStale?: boolean;
}

export interface VerifiedHeartbeat {
  envelope: HeartbeatEnvelope;
  payload: HeartbeatPayload;
  /** True when it was older than `downAfterSeconds` at verification (accepted only with allowStale). */
  stale: boolean;
}

/**
 * Verifies an envelope (already JSON-parsed or raw text/bytes): shape and size, signature over the
 * domain-prefixed payload, signer = the registry owner or manager of the node hash, time not in
 * the future beyond the skew, not stale (unless allowed). Throws HeartbeatError.
 */
export function verifyHeartbeat(input: unknown, ctx: VerifyContext): VerifiedHeartbeat {
  let raw = input;
  if (input instanceof Uint8Array) {
    if (input.byteLength > MAX_HEARTBEAT_BYTES + 1024) throw new HeartbeatError('malformed', 'heartbeat too large');
    raw = Buffer.from(input).toString('utf8');
  }
  if (typeof raw === 'string') {
    if (raw.length > MAX_HEARTBEAT_BYTES + 1024) throw new HeartbeatError('malformed', 'heartbeat too large');
    try {
      raw = JSON.parse(raw);
    } catch {
      throw new HeartbeatError('malformed', 'heartbeat is not JSON');
    }
  }
  const envelope = HeartbeatEnvelopeSchema.safeParse(raw);
  if (!envelope.success) throw new HeartbeatError('malformed', `bad heartbeat envelope: ${envelope.error.issues[0]?.message ?? 'invalid'}`);
  let json: unknown;
  try {
    json = JSON.parse(envelope.data.payload);
  } catch {
    throw new HeartbeatError('malformed', 'heartbeat payload is not JSON');
  }
  const parsed = HeartbeatPayloadSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new HeartbeatError('malformed', `bad heartbeat payload: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'invalid'}`);
  }
  const payload = parsed.data;
  // A decision cannot be reported before it was made (a later decided_at wins a contest).
  if (payload.crns.some((c) => c.workloads.some((w) => w.decided_at > payload.time))) throw new HeartbeatError('malformed', 'a placement is dated after the heartbeat that reports it');
  let signer: string;
  try {
    signer = recoverPersonalSigner(new TextEncoder().encode(HEARTBEAT_DOMAIN + envelope.data.payload), envelope.data.signature);
  } catch {
    throw new HeartbeatError('bad_signature', 'heartbeat signature does not verify');
  }
  if (signer.toLowerCase() !== payload.address.toLowerCase()) throw new HeartbeatError('bad_signature', 'heartbeat signature is not by the address it names');
  const node = ctx.nodes.find((n) => n.hash === payload.node_hash);
  if (!node) throw new HeartbeatError('unknown_node', `node ${payload.node_hash.slice(0, 12)} is not a core channel node of the registry`);
  const lc = signer.toLowerCase();
  if (lc !== node.owner.toLowerCase() && lc !== (node.manager ?? '').toLowerCase()) {
    throw new HeartbeatError('wrong_signer', `${signer} is neither the owner nor the manager of node ${payload.node_hash.slice(0, 12)}`);
  }
  if (payload.time > ctx.now + ctx.maxClockSkewSeconds) {
    throw new HeartbeatError('future', `heartbeat dated ${(payload.time - ctx.now).toFixed(1)} s in the future (allowed skew ${ctx.maxClockSkewSeconds} s)`);
  }
  const stale = ctx.now - payload.time > ctx.downAfterSeconds;
  if (stale && !ctx.allowStale) throw new HeartbeatError('stale', `heartbeat is ${(ctx.now - payload.time).toFixed(1)} s old (down after ${ctx.downAfterSeconds} s)`);
  return { envelope: envelope.data, payload, stale };
}
