/**
 * What `ccn rewards` reads from a CCN, over its public HTTP API like any client: the registry
 * (nodes, stakes, links), the score posts of a period and the distributions already published.
 */
import type { CcnEntry, CrnEntry } from '@aleph-nodes/ccn';
import type { PeriodScoresPost, ScoreEntry } from '@aleph-nodes/scoring';

export const SCORES_POST_TYPE = 'aleph-scoring-scores';
export const DISTRIBUTION_POST_TYPE = 'staking-rewards-distribution';

export class RewardsInputError extends Error {
  override readonly name = 'RewardsInputError';
}

async function getJson<T>(url: string): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  } catch (err) {
    throw new RewardsInputError(`cannot reach ${url}: ${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}`);
  }
  const text = await res.text();
  if (res.status !== 200) throw new RewardsInputError(`${url} answered ${res.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

export interface RegistryView {
  registry_address: string;
  nodes: CcnEntry[];
  resource_nodes: CrnEntry[];
}

export function readRegistry(ccn: string): Promise<RegistryView> {
  return getJson<RegistryView>(`${ccn}/api/v0/nodes`);
}

interface ApiPost {
  item_hash: string;
  sender: string;
  time: number;
  content: unknown;
}

/** Posts per request: CCNs cap page sizes (`pagination=0` no longer means "everything"). */
const PAGE_SIZE = 200;

/** Every post of a type from the given addresses, published at or after `since` (oldest first), page by page. */
async function posts(ccn: string, type: string, addresses: readonly string[], since: number): Promise<ApiPost[]> {
  const out: ApiPost[] = [];
  for (let page = 1; ; page++) {
    const q = new URLSearchParams({ types: type, addresses: addresses.join(','), pagination: String(PAGE_SIZE), page: String(page), sortOrder: '1' });
    if (since > 0) q.set('startDate', String(since));
    const body = await getJson<{ posts: ApiPost[]; pagination_total?: number }>(`${ccn}/api/v0/posts.json?${q}`);
    out.push(...body.posts);
    if (body.posts.length === 0 || out.length >= (body.pagination_total ?? 0)) return out;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function entries(list: unknown): ScoreEntry[] {
  if (!Array.isArray(list)) return [];
  return list.filter(isObject).flatMap((e) =>
    typeof e.node_id === 'string' && typeof e.total_score === 'number'
      ? [{ node_id: e.node_id, total_score: e.total_score, decentralization: typeof e.decentralization === 'number' ? e.decentralization : 0 }]
      : [],
  );
}

/** Score posts of the senders whose period ends after `from` (published after it). */
export async function readScoresPosts(ccn: string, senders: readonly string[], from: number): Promise<PeriodScoresPost[]> {
  const out: PeriodScoresPost[] = [];
  for (const p of await posts(ccn, SCORES_POST_TYPE, senders, from)) {
    const c = p.content;
    if (!isObject(c) || !isObject(c.period) || !isObject(c.scores)) continue;
    const { from_date, to_date } = c.period;
    if (typeof from_date !== 'number' || typeof to_date !== 'number') continue;
    out.push({ itemHash: p.item_hash, sender: p.sender, time: p.time, from: from_date, to: to_date, ccn: entries(c.scores.ccn), crn: entries(c.scores.crn) });
  }
  return out;
}

/** Periods of the distributions an address already published. */
export async function readDistributions(ccn: string, sender: string): Promise<{ item_hash: string; from: number; to: number }[]> {
  const out: { item_hash: string; from: number; to: number }[] = [];
  for (const p of await posts(ccn, DISTRIBUTION_POST_TYPE, [sender], 0)) {
    const c = p.content;
    if (!isObject(c)) continue;
    const period = isObject(c.period) ? c.period : { from_date: c.start_height, to_date: c.end_height };
    if (typeof period.from_date === 'number' && typeof period.to_date === 'number') out.push({ item_hash: p.item_hash, from: period.from_date, to: period.to_date });
  }
  return out;
}

/** The CCN's payment income of the period (`GET /api/v0/payments/income`, ours). */
export interface IncomeView {
  flows: { receiver: string; aleph: string }[];
  credits: { crn_hash: string; credits: number; messages: number }[];
}

/** Undefined when the CCN does not serve payments (an older node): the rewards are reported without. */
export async function readIncome(ccn: string, from: number, to: number): Promise<IncomeView | undefined> {
  const url = `${ccn}/api/v0/payments/income?from=${from}&to=${to}`;
  const res = await fetch(url, { signal: AbortSignal.timeout(30_000) }).catch((err: Error & { cause?: Error }) => {
    throw new RewardsInputError(`cannot reach ${url}: ${err.cause?.message ?? err.message}`);
  });
  if (res.status === 404) return undefined;
  const text = await res.text();
  if (res.status !== 200) throw new RewardsInputError(`${url} answered ${res.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as IncomeView;
}
