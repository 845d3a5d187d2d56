/**
 * Counts of what this node decided about each peer's gossip (accept, ignore, reject, with the
 * reason), served by GET /api/v0/p2p/peers: the CCN has no Prometheus registry, so the counts
 * live here, in memory, for operators and tests. Bounded: the peers least recently heard from
 * are forgotten first; the totals keep counting.
 */
import type { GossipVerdict } from '../network/gossip.ts';

export interface VerdictCounts {
  accept: number;
  ignore: number;
  reject: number;
  /** Count per reason (`new`, `duplicate`, `rate-limited`, `INVALID_SIGNATURE`, ...). */
  reasons: Record<string, number>;
}

export interface PeerVerdicts extends VerdictCounts {
  /** Unix seconds of the last verdict. */
  last: number;
}

/** Reasons kept per peer; an attacker cannot grow the map with made-up reasons beyond this. */
const MAX_REASONS = 64;

function empty(): VerdictCounts {
  return { accept: 0, ignore: 0, reject: 0, reasons: {} };
}

function bump(c: VerdictCounts, verdict: GossipVerdict, reason: string): void {
  c[verdict] += 1;
  if (reason in c.reasons || Object.keys(c.reasons).length < MAX_REASONS) c.reasons[reason] = (c.reasons[reason] ?? 0) + 1;
}

export class VerdictCounters {
  readonly #byPeer = new Map<string, PeerVerdicts>();
  readonly #totals = new Map<string, VerdictCounts>();
  readonly #maxPeers: number;

  constructor(maxPeers = 1000) {
    this.#maxPeers = maxPeers;
  }

  record(topic: string, peer: string, verdict: GossipVerdict, reason: string): void {
    const total = this.#totals.get(topic) ?? empty();
    bump(total, verdict, reason);
    this.#totals.set(topic, total);
    const entry = this.#byPeer.get(peer) ?? { ...empty(), last: 0 };
    bump(entry, verdict, `${topic}:${reason}`);
    entry.last = Math.floor(Date.now() / 1000);
    this.#byPeer.delete(peer);
    this.#byPeer.set(peer, entry);
    if (this.#byPeer.size > this.#maxPeers) {
      const oldest = this.#byPeer.keys().next().value;
      if (oldest !== undefined) this.#byPeer.delete(oldest);
    }
  }

  forPeer(peer: string): PeerVerdicts | undefined {
    const e = this.#byPeer.get(peer);
    return e ? { ...e, reasons: { ...e.reasons } } : undefined;
  }

  peers(): string[] {
    return [...this.#byPeer.keys()];
  }

  totals(): Record<string, VerdictCounts> {
    return Object.fromEntries([...this.#totals].map(([topic, c]) => [topic, { ...c, reasons: { ...c.reasons } }]));
  }
}
