/**
 * The gossip dedupe cache (pyaleph keeps a deque of the last 200000 (sender, item_hash,
 * signature) triples): a bounded first-in-first-out set. Keys are stored as 128-bit digests, so
 * 200000 entries cost a few tens of MB whatever a peer puts in the three fields.
 *
 * Only messages that proved valid (new, or already known here) are remembered. pyaleph records a
 * triple before validating the message, so a forged copy that reuses a genuine message's
 * triple with tampered content would make every later genuine copy a "duplicate"; here the
 * forged copy is rejected and the genuine one still gets in.
 */
import { createHash } from 'node:crypto';

export class DedupeCache {
  readonly capacity: number;
  readonly #keys = new Set<string>();

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity must be a positive integer');
    this.capacity = capacity;
  }

  static digest(key: string): string {
    return createHash('sha256').update(key).digest('base64').slice(0, 22);
  }

  get size(): number {
    return this.#keys.size;
  }

  has(key: string): boolean {
    return this.#keys.has(DedupeCache.digest(key));
  }

  /** Remembers `key`; the oldest entry goes when the cache is full. */
  add(key: string): void {
    const d = DedupeCache.digest(key);
    if (this.#keys.has(d)) return;
    this.#keys.add(d);
    if (this.#keys.size > this.capacity) {
      const oldest = this.#keys.values().next().value;
      if (oldest !== undefined) this.#keys.delete(oldest);
    }
  }
}
