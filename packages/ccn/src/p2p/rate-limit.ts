/**
 * Per-peer budgets for gossip: a token bucket of messages (a peer may relay `burst` messages at
 * once, then `ratePerSecond` on average) and a decaying penalty that feeds gossipsub's
 * application-specific score, so that a peer that keeps exceeding its budget, or sends invalid
 * messages on topics gossipsub does not score, sinks to the graylist like one that sends garbage.
 * Both maps are bounded: the entries of the peers least recently seen are dropped first (a
 * dropped bucket is a full one; a dropped penalty was the smallest worth keeping).
 */

export interface TokenBucketOptions {
  ratePerSecond: number;
  burst: number;
  /** Peers tracked at once. */
  maxPeers?: number;
  /** Milliseconds; injected by tests. */
  now?: () => number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class PeerRateLimiter {
  readonly #rate: number;
  readonly #burst: number;
  readonly #max: number;
  readonly #now: () => number;
  readonly #buckets = new Map<string, Bucket>();

  constructor(opts: TokenBucketOptions) {
    this.#rate = opts.ratePerSecond;
    this.#burst = opts.burst;
    this.#max = opts.maxPeers ?? 10_000;
    this.#now = opts.now ?? Date.now;
  }

  /** Takes one token of `peer`'s bucket; false when it is empty (the message is over budget). */
  take(peer: string): boolean {
    const now = this.#now();
    const b = this.#buckets.get(peer);
    const tokens = b ? Math.min(this.#burst, b.tokens + ((now - b.at) / 1000) * this.#rate) : this.#burst;
    // Re-inserted to keep the map ordered by last use (the oldest is evicted first).
    this.#buckets.delete(peer);
    const ok = tokens >= 1;
    this.#buckets.set(peer, { tokens: ok ? tokens - 1 : tokens, at: now });
    if (this.#buckets.size > this.#max) {
      const oldest = this.#buckets.keys().next().value;
      if (oldest !== undefined) this.#buckets.delete(oldest);
    }
    return ok;
  }

  get size(): number {
    return this.#buckets.size;
  }
}

export interface PenaltyOptions {
  /** Time for a penalty to halve, in seconds. */
  halfLifeSeconds: number;
  maxPeers?: number;
  now?: () => number;
}

export class DecayingPenalties {
  readonly #lambda: number;
  readonly #max: number;
  readonly #now: () => number;
  readonly #values = new Map<string, { value: number; at: number }>();

  constructor(opts: PenaltyOptions) {
    this.#lambda = Math.LN2 / opts.halfLifeSeconds;
    this.#max = opts.maxPeers ?? 10_000;
    this.#now = opts.now ?? Date.now;
  }

  #current(peer: string, now: number): number {
    const e = this.#values.get(peer);
    return e ? e.value * Math.exp((-this.#lambda * (now - e.at)) / 1000) : 0;
  }

  add(peer: string, amount: number): void {
    const now = this.#now();
    const value = this.#current(peer, now) + amount;
    this.#values.delete(peer);
    this.#values.set(peer, { value, at: now });
    if (this.#values.size > this.#max) {
      const oldest = this.#values.keys().next().value;
      if (oldest !== undefined) this.#values.delete(oldest);
    }
  }

  /** The penalty now (≥ 0); negligible ones are forgotten. */
  value(peer: string): number {
    const v = this.#current(peer, this.#now());
    if (v > 0 && v < 0.01) this.#values.delete(peer);
    return v < 0.01 ? 0 : v;
  }
}
