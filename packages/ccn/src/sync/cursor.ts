/**
 * The pure rules of paging a peer's sequence: what a well-formed page is, and how far the cursor
 * may move once some of its entries are handled. Kept apart from the I/O so they are tested on
 * their own (cursor.test.ts).
 */
import type { SyncPage } from './wire.ts';

export type PageCheck =
  | { kind: 'ok' }
  /** The peer's sequence is behind our cursor: its store was replaced (or it lies). Start over. */
  | { kind: 'reset' }
  /** The page breaks the protocol: counted against the peer, nothing of it is used. */
  | { kind: 'lie'; reason: string };

/** Checks a page answered to `?after=<after>&limit=<limit>`. */
export function checkPage(page: SyncPage, after: number, limit: number): PageCheck {
  if (page.messages.length > limit) return { kind: 'lie', reason: `page of ${page.messages.length} entries, ${limit} asked` };
  if (page.messages.length === 0 && page.last_seq < after) return { kind: 'reset' };
  let previous = after;
  const hashes = new Set<string>();
  for (const entry of page.messages) {
    if (entry.seq <= previous) return { kind: 'lie', reason: `seq ${entry.seq} after ${previous}: the sequence goes backwards` };
    if (hashes.has(entry.item_hash)) return { kind: 'lie', reason: `${entry.item_hash} listed twice` };
    hashes.add(entry.item_hash);
    previous = entry.seq;
  }
  if (previous > page.last_seq) return { kind: 'lie', reason: `seq ${previous} beyond the announced last_seq ${page.last_seq}` };
  if (page.next < previous || page.next > page.last_seq) return { kind: 'lie', reason: `next cursor ${page.next} outside [${previous}, ${page.last_seq}]` };
  return { kind: 'ok' };
}

/**
 * The new cursor: past every entry, in order, up to the first one not handled. The peer's own
 * `next` is never trusted to skip ahead: only entries seen and handled move the cursor.
 */
export function advanceCursor(after: number, entries: readonly { seq: number; item_hash: string }[], handled: (hash: string) => boolean): number {
  let cursor = after;
  for (const entry of entries) {
    if (!handled(entry.item_hash)) break;
    cursor = entry.seq;
  }
  return cursor;
}

/** Splits `items` into slices of at most `size`. */
export function batches<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
