/**
 * The CRN's in-memory cache of verified messages, bounded in bytes (not in count: one
 * message may carry up to megabytes of inline content, so a count bound is no memory bound).
 * Oldest insertions go first. A message can be dropped on purpose (forgotten, rejected or
 * removed): a cache must never be the reason a retired message runs again.
 */
import type { VerifiedMessage } from './verified-message.ts';

interface Cached {
  value: VerifiedMessage;
  bytes: number;
}

/** What one cached message costs: its JSON size, twice (JS strings are UTF-16), plus overhead. */
export function messageCost(value: VerifiedMessage): number {
  let json: string;
  try {
    json = JSON.stringify(value);
  } catch {
    return Number.POSITIVE_INFINITY;
  }
  return json.length * 2 + 512;
}

export class MessageCache {
  readonly #entries = new Map<string, Cached>();
  #bytes = 0;

  constructor(readonly maxBytes: number) {}

  get bytes(): number {
    return this.#bytes;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(hash: string): VerifiedMessage | undefined {
    return this.#entries.get(hash)?.value;
  }

  /** Keeps `value` unless it alone exceeds the budget; evicts the oldest entries to make room. */
  set(hash: string, value: VerifiedMessage): void {
    this.delete(hash);
    const bytes = messageCost(value);
    if (bytes > this.maxBytes) return;
    while (this.#bytes + bytes > this.maxBytes) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.delete(oldest);
    }
    this.#entries.set(hash, { value, bytes });
    this.#bytes += bytes;
  }

  delete(hash: string): boolean {
    const entry = this.#entries.get(hash);
    if (!entry) return false;
    this.#entries.delete(hash);
    this.#bytes -= entry.bytes;
    return true;
  }
}
