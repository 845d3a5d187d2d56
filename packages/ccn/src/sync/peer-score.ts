/**
 * A peer's standing with this node's anti-entropy: a score that falls with every failure (more
 * for lies, invalid messages and wrong file bytes than for a timeout), a back-off that doubles
 * with consecutive failures, and a ban once the score reaches the threshold. A successful round
 * clears the back-off and slowly restores the score. Pure: the clock is passed in.
 */
import { backoffMs } from '@aleph-nodes/service';
import type { PeerFailureKind } from './http.ts';

/** What each failure costs. A peer is banned at BAN_SCORE: e.g. 4 lies, 10 invalid messages. */
export const PENALTY: Readonly<Record<PeerFailureKind, number>> = {
  transport: 1,
  status: 1,
  'too-large': 25,
  malformed: 10,
  lie: 25,
  invalid: 10,
  mismatch: 25,
};
export const BAN_SCORE = -100;

export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
  banMs: number;
}

export class PeerScore {
  readonly #policy: BackoffPolicy;
  score = 0;
  /** Consecutive failed rounds or requests. */
  failures = 0;
  /** Epoch ms before which the peer is not asked anything. */
  notBefore = 0;
  bannedUntil = 0;
  readonly counts: Record<PeerFailureKind, number> = { transport: 0, status: 0, 'too-large': 0, malformed: 0, lie: 0, invalid: 0, mismatch: 0 };
  lastError: string | undefined;

  constructor(policy: BackoffPolicy) {
    this.#policy = policy;
  }

  allowed(nowMs: number): boolean {
    return nowMs >= this.notBefore;
  }

  banned(nowMs: number): boolean {
    return nowMs < this.bannedUntil;
  }

  /** Records a failure (`count` offences of one kind at once); returns the time before which the peer is left alone. */
  penalize(kind: PeerFailureKind, reason: string, nowMs: number, count = 1): number {
    this.counts[kind] += count;
    this.score -= PENALTY[kind] * count;
    this.failures += 1;
    this.lastError = `${kind}: ${reason}`;
    const backoff = backoffMs(this.failures, { baseMs: this.#policy.baseMs, maxMs: this.#policy.maxMs });
    this.notBefore = Math.max(this.notBefore, nowMs + backoff);
    if (this.score <= BAN_SCORE) {
      this.bannedUntil = nowMs + this.#policy.banMs;
      this.notBefore = Math.max(this.notBefore, this.bannedUntil);
      // Out of the ban at half the threshold: a repeat offender is banned again quickly.
      this.score = BAN_SCORE / 2;
    }
    return this.notBefore;
  }

  succeed(): void {
    this.failures = 0;
    this.score = Math.min(0, this.score + 1);
  }
}
