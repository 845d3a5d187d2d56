/**
 * What the chaos test compares between CCNs, read through their public HTTP APIs only:
 * - `listing`: every message the node serves to peers, with its status (sync listing, all pages);
 * - `channel`: every message of the test's channel with any status (pending and rejected too,
 *   which the sync listing leaves out);
 * - `aggregates`: each test account's aggregate with its info (which update is the latest);
 * - `posts`: the test channel's posts as served (each original with its latest amend);
 * - `files`: each accepted STORE's file: the status and the sha256 of the bytes served.
 */
import { createHash } from 'node:crypto';

export interface NodeState {
  listing: Record<string, string>;
  channel: Record<string, string>;
  aggregates: Record<string, unknown>;
  posts: unknown[];
  files: Record<string, string>;
}

export const PARTS = ['listing', 'channel', 'aggregates', 'posts', 'files'] as const;

async function get(url: string): Promise<{ status: number; body: Buffer }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(15_000) });
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
}

async function json<T>(url: string): Promise<T> {
  const { status, body } = await get(url);
  if (status !== 200) throw new Error(`${url} answered ${status}`);
  return JSON.parse(body.toString('utf8')) as T;
}

const sorted = (entries: [string, string][]): Record<string, string> => Object.fromEntries(entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

export async function nodeState(url: string, channel: string, addresses: readonly string[], files: readonly string[]): Promise<NodeState> {
  const listing: [string, string][] = [];
  for (let after = 0; ; ) {
    const page = await json<{ messages: { seq: number; item_hash: string; status: string }[]; next: number }>(`${url}/api/v0/sync/messages?after=${after}&limit=500`);
    for (const m of page.messages) listing.push([m.item_hash, m.status]);
    if (page.messages.length === 0 || page.next <= after) break;
    after = page.next;
  }
  const inChannel: [string, string][] = [];
  for (let page = 1; ; page++) {
    const body = await json<{ hashes: { item_hash: string; status: string }[] }>(
      `${url}/api/v0/messages/hashes?hashOnly=false&channels=${channel}&pagination=500&page=${page}&msgStatuses=pending,processed,rejected,forgotten,removing,removed`,
    );
    for (const h of body.hashes) inChannel.push([h.item_hash, h.status]);
    if (body.hashes.length < 500) break;
  }
  const aggregates: Record<string, unknown> = {};
  for (const address of addresses) {
    const { status, body } = await get(`${url}/api/v0/aggregates/${address}.json?withInfo=true`);
    aggregates[address] = status === 200 ? JSON.parse(body.toString('utf8')) : status;
  }
  const posts: { original_item_hash: string }[] = [];
  for (let page = 1; ; page++) {
    const body = await json<{ posts: { original_item_hash: string }[] }>(`${url}/api/v0/posts.json?channels=${channel}&pagination=500&page=${page}`);
    posts.push(...body.posts);
    if (body.posts.length < 500) break;
  }
  posts.sort((a, b) => (a.original_item_hash < b.original_item_hash ? -1 : 1));
  const served: [string, string][] = [];
  for (const hash of files) {
    const { status, body } = await get(`${url}/api/v0/storage/raw/${hash}`);
    served.push([hash, status === 200 ? `200 ${createHash('sha256').update(body).digest('hex')}` : String(status)]);
  }
  return { listing: sorted(listing), channel: sorted(inChannel), aggregates, posts, files: sorted(served) };
}

/**
 * Whether a difference on one message is one of the documented exceptions (the caller knows what
 * each message was); `values` are its statuses on each node, in order.
 */
export type Tolerated = (hash: string, values: readonly (string | null)[], states: readonly NodeState[]) => boolean;

/** Parts on which the nodes differ (empty: the same everywhere). */
export function differences(states: readonly NodeState[], tolerated?: Tolerated): string[] {
  const first = states[0];
  if (!first) return [];
  return PARTS.filter((part) =>
    part === 'listing' || part === 'channel' || part === 'files'
      ? Object.keys(keyedDiff(states, part, tolerated)).length > 0
      : states.some((s) => JSON.stringify(s[part]) !== JSON.stringify(first[part])),
  );
}

/**
 * The one documented exception to "the same state everywhere" (packages/ccn/README.md): a message
 * forgotten before a node ever held it (an amend forgotten with its post while that node was cut
 * off) is not served by its peers any more — its content is gone — so that node cannot list it.
 * Absent there and `forgotten` everywhere else is the same state.
 */
export function forgottenOrAbsent(values: readonly (string | null)[]): boolean {
  return values.every((v) => v === null || v === 'forgotten');
}

/** A short account of how the nodes differ on a keyed part: the keys not the same on all. */
export function keyedDiff(states: readonly NodeState[], part: 'listing' | 'channel' | 'files', tolerated?: Tolerated): Record<string, (string | null)[]> {
  const keys = new Set(states.flatMap((s) => Object.keys(s[part])));
  const out: Record<string, (string | null)[]> = {};
  for (const key of keys) {
    const values = states.map((s) => s[part][key] ?? null);
    if (part !== 'files' && (forgottenOrAbsent(values) || tolerated?.(key, values, states))) continue;
    if (values.some((v) => v !== values[0])) out[key] = values;
  }
  return out;
}

/** Whole values (aggregates, posts) that differ, per address or original hash. */
export function valueDiff(states: readonly NodeState[], part: 'aggregates' | 'posts'): Record<string, unknown[]> {
  const byKey = (s: NodeState): Map<string, unknown> =>
    part === 'aggregates'
      ? new Map(Object.entries(s.aggregates))
      : new Map((s.posts as { original_item_hash: string }[]).map((p) => [p.original_item_hash, p]));
  const maps = states.map(byKey);
  const keys = new Set(maps.flatMap((m) => [...m.keys()]));
  const out: Record<string, unknown[]> = {};
  for (const key of keys) {
    const values = maps.map((m) => m.get(key) ?? null);
    if (values.some((v) => JSON.stringify(v) !== JSON.stringify(values[0]))) out[key] = values;
  }
  return out;
}
