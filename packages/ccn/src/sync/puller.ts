/**
 * One anti-entropy round with one peer: page through its sequence after our cursor for it, ask
 * the local store which listed hashes are unknown, fetch those in batches and submit each one
 * with origin `sync` (validated exactly like a client's message), then move the cursor past what
 * was handled, never further. A page or batch that breaks the protocol ends the round with a
 * PeerError (the caller scores the peer); nothing the peer sent is stored unless it validated.
 */
import { ALEPH_ERROR, isProtocolError } from '@aleph-nodes/protocol';
import type { Logger } from '@aleph-nodes/service';
import type { MessageProcessor } from '../processing/processor.ts';
import { advanceCursor, batches, checkPage } from './cursor.ts';
import { getJson, PeerError, type RequestLimits } from './http.ts';
import type { PeerScore } from './peer-score.ts';
import { SERVED_STATUSES, type SyncRepo } from './repo.ts';
import { BatchSchema, PageSchema, SYNC_BATCH_PATH, SYNC_PAGE_PATH, type SyncPage } from './wire.ts';

/** Counters of one peer, shown by the status route. */
export interface PullStats {
  rounds: number;
  pages: number;
  batches: number;
  /** Envelopes received in batches (each one new to this node when asked for). */
  messages: number;
  bytes: number;
  /** Fetched messages this node held by the time they were submitted (gossip or another peer won the race). */
  duplicates: number;
  /** Locally rejected messages the peer lists as processed, re-submitted from the local copy. */
  retried: number;
  resets: number;
  lastSeq: number;
  lastSuccess: number | undefined;
}

export function emptyStats(): PullStats {
  return { rounds: 0, pages: 0, batches: 0, messages: 0, bytes: 0, duplicates: 0, retried: 0, resets: 0, lastSeq: 0, lastSuccess: undefined };
}

export interface PullPeer {
  url: string;
  score: PeerScore;
  stats: PullStats;
}

export interface PullContext {
  repo: SyncRepo;
  processor: MessageProcessor;
  log: Logger;
  pageSize: number;
  batchSize: number;
  maxPages: number;
  limits: RequestLimits;
  /** Hashes being fetched by any peer's round: a hash is fetched once, the others wait for it. */
  inflight: Map<string, Promise<boolean>>;
  nowMs(): number;
}

export interface RoundResult {
  /** The peer had nothing more after our cursor. */
  caughtUp: boolean;
  /** Why the round stopped early, if it did. */
  failure?: PeerError | undefined;
}

/** Rejections that validation alone decides: the same bytes are rejected everywhere, never retried. */
const FINAL_REJECTIONS: ReadonlySet<number> = new Set([ALEPH_ERROR.INVALID_FORMAT, ALEPH_ERROR.INVALID_SIGNATURE]);

export async function pullRound(ctx: PullContext, peer: PullPeer): Promise<RoundResult> {
  peer.stats.rounds += 1;
  let cursor = await ctx.repo.cursor(peer.url);
  for (let pages = 0; pages < ctx.maxPages; pages++) {
    const url = `${peer.url}${SYNC_PAGE_PATH}?after=${cursor}&limit=${ctx.pageSize}`;
    const { data: page, bytes } = await getJson(url, PageSchema, ctx.limits);
    peer.stats.pages += 1;
    peer.stats.bytes += bytes;
    const check = checkPage(page, cursor, ctx.pageSize);
    if (check.kind === 'lie') throw new PeerError('lie', check.reason);
    peer.stats.lastSeq = page.last_seq;
    if (check.kind === 'reset') {
      // Its store was replaced: start over. Only hashes we lack are fetched again, so a rescan
      // costs pages, not messages; a peer that keeps doing it is backed off by the caller.
      peer.stats.resets += 1;
      await ctx.repo.setCursor(peer.url, 0, ctx.nowMs() / 1000);
      return { caughtUp: false, failure: new PeerError('status', `its last seq ${page.last_seq} is behind our cursor ${cursor}: starting over`) };
    }
    if (page.messages.length === 0) return { caughtUp: true };
    const { handled, failure } = await handlePage(ctx, peer, page);
    const next = advanceCursor(cursor, page.messages, (h) => handled.has(h));
    if (next !== cursor) await ctx.repo.setCursor(peer.url, next, ctx.nowMs() / 1000);
    cursor = next;
    if (failure) return { caughtUp: false, failure };
    if (next < (page.messages.at(-1)?.seq ?? next)) return { caughtUp: false, failure: new PeerError('transport', 'some listed messages could not be fetched yet') };
    if (page.messages.length < ctx.pageSize) return { caughtUp: true };
  }
  return { caughtUp: false };
}

async function handlePage(ctx: PullContext, peer: PullPeer, page: SyncPage): Promise<{ handled: Set<string>; failure?: PeerError | undefined }> {
  const handled = new Set<string>();
  // A forgotten entry has no content to fetch (the peer erased it): it is passed over. The FORGET
  // that forgot it is listed after it (it was processed later) and is fetched like any message.
  // Here it waits for its target (FORGET_TARGET_NOT_FOUND, the processor's retries): if another
  // peer still holds the target unforgotten, the target arrives and the FORGET applies; if the
  // FORGET ran out of retries first, the next peer that lists it as processed has it re-submitted
  // below. If no peer holds the target any more, the FORGET ends rejected (501) here while it is
  // processed there: the derived state is the same (the target's effects exist nowhere), only
  // that FORGET's status differs. A target cannot be recorded as forgotten without its content:
  // who may forget it is decided by its owner, which only its content says.
  for (const e of page.messages) if (!SERVED_STATUSES.has(e.status)) handled.add(e.item_hash);
  const listed = page.messages.filter((e) => SERVED_STATUSES.has(e.status)).map((e) => e.item_hash);
  const local = await ctx.repo.known(listed);
  const unknown: string[] = [];
  for (const hash of listed) {
    const mine = local.get(hash);
    if (!mine) {
      unknown.push(hash);
      continue;
    }
    handled.add(hash);
    // Rejected here for a missing dependency or a state that differed, processed there: give it
    // another attempt from the local copy (no fetch). Bounded: once per listing by a peer.
    if (mine.status === 'rejected' && !FINAL_REJECTIONS.has(mine.error_code ?? -2)) {
      try {
        await ctx.processor.submit(JSON.parse(mine.raw) as unknown, 'sync');
        peer.stats.retried += 1;
      } catch (err) {
        ctx.log.debug({ err, hash }, 'a rejected message could not be re-submitted');
      }
    }
  }
  const theirs: [string, Promise<boolean>][] = [];
  const mine: string[] = [];
  for (const hash of unknown) {
    const other = ctx.inflight.get(hash);
    if (other) theirs.push([hash, other]);
    else mine.push(hash);
  }
  let failure: PeerError | undefined;
  if (mine.length > 0) {
    const fetched = await fetchAndSubmit(ctx, peer, mine);
    for (const hash of fetched.handled) handled.add(hash);
    failure = fetched.failure;
  }
  // Another peer's fetch that failed (it may be the liar) is not this peer's fault: ask this one.
  const again: string[] = [];
  for (const [hash, promise] of theirs) {
    if (await promise) handled.add(hash);
    else again.push(hash);
  }
  if (again.length > 0 && !failure) {
    const arrived = await ctx.repo.known(again);
    for (const hash of arrived.keys()) handled.add(hash);
    const fetched = await fetchAndSubmit(ctx, peer, again.filter((h) => !arrived.has(h) && !ctx.inflight.has(h)));
    for (const hash of fetched.handled) handled.add(hash);
    failure = fetched.failure;
  }
  return { handled, failure };
}

/** Fetches `hashes` from the peer in batches and submits them: the hashes handled, and why it stopped early. */
async function fetchAndSubmit(ctx: PullContext, peer: PullPeer, hashes: readonly string[]): Promise<{ handled: Set<string>; failure?: PeerError }> {
  const handled = new Set<string>();
  const settle = new Map<string, (ok: boolean) => void>();
  for (const hash of hashes) ctx.inflight.set(hash, new Promise<boolean>((resolve) => settle.set(hash, resolve)));
  try {
    let queue = [...hashes];
    while (queue.length > 0) {
      const [ask = [], ...rest] = batches(queue, ctx.batchSize);
      const { served, retry } = await fetchBatch(ctx, peer, ask);
      for (const hash of served) handled.add(hash);
      queue = [...retry, ...rest.flat()];
    }
    return { handled };
  } catch (err) {
    if (err instanceof PeerError) return { handled, failure: err };
    throw err;
  } finally {
    for (const hash of hashes) {
      settle.get(hash)?.(handled.has(hash));
      ctx.inflight.delete(hash);
    }
  }
}

/**
 * One batch request. Returns the hashes handled (stored, or forgotten meanwhile on the peer) and
 * those to ask again (left out to keep the answer within its byte bound). Throws PeerError when
 * the peer serves nothing it listed, serves something not asked, or a message fails validation.
 */
async function fetchBatch(ctx: PullContext, peer: PullPeer, ask: readonly string[]): Promise<{ served: Set<string>; retry: string[] }> {
  const url = `${peer.url}${SYNC_BATCH_PATH}?hashes=${ask.join(',')}`;
  const { data, bytes } = await getJson(url, BatchSchema, ctx.limits);
  peer.stats.batches += 1;
  peer.stats.bytes += bytes;
  const asked = new Set(ask);
  const served = new Set<string>();
  const deferred = new Set<string>();
  const invalid: string[] = [];
  for (const raw of data.messages) {
    const hash = typeof raw.item_hash === 'string' ? raw.item_hash : '';
    if (!asked.has(hash) || served.has(hash) || deferred.has(hash)) {
      throw new PeerError('lie', `the batch holds ${hash.slice(0, 80) || 'a message without item_hash'}, which was not asked`);
    }
    peer.stats.messages += 1;
    const before = await ctx.repo.known([hash]);
    try {
      await ctx.processor.submit(raw, 'sync');
      served.add(hash);
      if (before.size > 0) peer.stats.duplicates += 1;
    } catch (err) {
      if (!isProtocolError(err)) throw err;
      // A clock ahead of ours is not a lie: the cursor waits there and it is asked again later.
      if (err.code === 'TIME_IN_FUTURE') deferred.add(hash);
      else invalid.push(`${hash}: ${err.message}`);
    }
  }
  for (const hash of data.forgotten) if (asked.has(hash)) served.add(hash);
  if (invalid.length > 0) throw new PeerError('invalid', `${invalid.length} invalid message(s), e.g. ${invalid[0]}`, { count: invalid.length });
  const refused = data.missing.filter((h) => asked.has(h) && !served.has(h));
  if (refused.length > 0) throw new PeerError('lie', `it listed ${refused.length} message(s) it then does not serve (${refused[0]})`);
  if (served.size === 0 && deferred.size === 0) throw new PeerError('lie', `it served none of the ${ask.length} messages it listed`);
  if (deferred.size > 0 && served.size === 0) throw new PeerError('transport', `${deferred.size} message(s) dated in our future: asked again later`);
  return { served, retry: ask.filter((h) => !served.has(h) && !deferred.has(h)) };
}
