/**
 * The verdict on each message a peer gossips on the message topic. Everything a peer sends is
 * hostile until proved otherwise: over its rate budget → ignore (and a score penalty); too large,
 * not JSON, or failing the exact validation of a submitted message (`processor.submit(raw,
 * 'p2p')`: envelope, item hash, signature, content schema, size) → reject, which gossipsub turns
 * into a score penalty for the peer that sent it; already known → ignore; new and valid → stored
 * pending and accept (gossipsub relays it). Nothing is stored before it is valid.
 */
import { isProtocolError, type ProtocolErrorCode } from '@aleph-nodes/protocol';
import type { Logger } from '@aleph-nodes/service';
import type { GossipMessage, GossipVerdict } from '../network/gossip.ts';
import type { MessageProcessor, MessageOrigin } from '../processing/processor.ts';
import type { AlephMessage } from '@aleph-nodes/protocol';
import type { DedupeCache } from './dedupe.ts';
import type { DecayingPenalties, PeerRateLimiter } from './rate-limit.ts';
import type { VerdictCounters } from './verdicts.ts';
import { decodeWireMessage, dedupeKeyOf } from './wire.ts';

/** Application-score penalty of one message over a peer's rate budget. */
export const RATE_LIMIT_PENALTY = 1;

/**
 * Failures that do not prove the relaying peer wrong, so they cost it nothing: a time slightly
 * ahead of our clock is clock skew between honest nodes, and a chain whose signatures this node
 * does not verify is not ours to judge.
 */
const NOT_OURS_TO_JUDGE: ReadonlySet<ProtocolErrorCode> = new Set(['TIME_IN_FUTURE', 'UNSUPPORTED_CHAIN']);

export interface IntakeDeps {
  processor: Pick<MessageProcessor, 'submit' | 'events'>;
  topic: string;
  maxBytes: number;
  dedupe: DedupeCache;
  limiter: PeerRateLimiter;
  penalties: DecayingPenalties;
  counters: VerdictCounters;
  log: Logger;
  /** Validations running at once across all peers; beyond, messages are ignored (no penalty). */
  maxInFlight?: number;
}

export class MessageIntake {
  readonly #d: IntakeDeps;
  readonly #maxInFlight: number;
  /** Dedupe keys being validated right now: a second copy is a duplicate. */
  readonly #validating = new Set<string>();
  /** Item hashes `submit` stored as new for us (origin p2p) and not yet claimed by their caller. */
  readonly #fresh = new Set<string>();
  #unkeyed = 0;
  readonly #onAccepted = (message: AlephMessage, _raw: unknown, origin: MessageOrigin): void => {
    if (origin !== 'p2p') return;
    this.#fresh.add(message.item_hash);
    // Each entry is claimed right after its `submit`; the bound only guards against strangers.
    if (this.#fresh.size > 10_000) this.#fresh.delete(this.#fresh.values().next().value as string);
  };

  constructor(deps: IntakeDeps) {
    this.#d = deps;
    this.#maxInFlight = deps.maxInFlight ?? 256;
    deps.processor.events.on('accepted', this.#onAccepted);
  }

  dispose(): void {
    this.#d.processor.events.off('accepted', this.#onAccepted);
  }

  #verdict(peer: string, verdict: GossipVerdict, reason: string): GossipVerdict {
    this.#d.counters.record(this.#d.topic, peer, verdict, reason);
    if (verdict === 'reject') this.#d.log.debug({ peer, reason }, 'rejected a gossiped message');
    return verdict;
  }

  readonly handle = async (msg: GossipMessage): Promise<GossipVerdict> => {
    const peer = msg.from;
    if (!this.#d.limiter.take(peer)) {
      this.#d.penalties.add(peer, RATE_LIMIT_PENALTY);
      return this.#verdict(peer, 'ignore', 'rate-limited');
    }
    if (this.#validating.size >= this.#maxInFlight) return this.#verdict(peer, 'ignore', 'busy');
    const decoded = decodeWireMessage(msg.data, this.#d.maxBytes);
    if (!decoded.ok) return this.#verdict(peer, 'reject', decoded.reason);
    const key = dedupeKeyOf(decoded.message);
    if (key !== undefined && (this.#d.dedupe.has(key) || this.#validating.has(key))) return this.#verdict(peer, 'ignore', 'duplicate');
    // A message without the three key fields cannot pass validation; no key is needed for it.
    const slot = key ?? `unkeyed:${++this.#unkeyed}`;
    this.#validating.add(slot);
    let itemHash: string;
    try {
      ({ itemHash } = await this.#d.processor.submit(decoded.message, 'p2p'));
    } catch (err) {
      if (isProtocolError(err)) return this.#verdict(peer, NOT_OURS_TO_JUDGE.has(err.code) ? 'ignore' : 'reject', err.code);
      this.#d.log.error({ err, peer }, 'could not store a gossiped message');
      return this.#verdict(peer, 'ignore', 'internal-error');
    } finally {
      this.#validating.delete(slot);
    }
    // Valid: remembered whether new or known, so later copies stop here.
    if (key !== undefined) this.#d.dedupe.add(key);
    if (this.#fresh.delete(itemHash)) return this.#verdict(peer, 'accept', 'new');
    return this.#verdict(peer, 'ignore', 'known');
  };
}
