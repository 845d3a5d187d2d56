/**
 * A canonical digest of everything a CCN derives from its messages (issue 13, item 4): message
 * statuses and their derived columns, forgotten_by, tags and refs, aggregates (values and info),
 * posts with their latest amend, the registry snapshot (value, outcomes, metadata), balances and
 * the reports behind them, file records and pins, payments (costs, credits, flows, removals). Two CCNs holding the same messages must have
 * the same digest whatever order the messages arrived in. What is local to a node by nature is
 * left out: reception times, retry counters and schedules, the raw body as received.
 *
 * Used by the order-independence property test and, over the stores of stopped CCN processes
 * (open their data dirs with `openStores`), by the multi-CCN network tests.
 */
import { createHash } from 'node:crypto';
import { ccnConfig } from '../config.ts';
import { replayCredits } from '../payments/credits.ts';
import { RegistryService } from '../registry/registry-service.ts';
import type { RegistrySettings } from '../registry/types.ts';
import type { Stores } from '../stores.ts';

export interface DigestOptions {
  /** The registry rules the nodes run (the same on every node). */
  registry?: Partial<RegistrySettings>;
  /** Registry address (only names the snapshot; the replay does not depend on it). */
  registryAddress?: string;
}

export interface StateDigest {
  /** sha256 of the canonical JSON of `state`. */
  digest: string;
  /** The canonical state, part by part (for a readable difference when digests differ). */
  state: Record<string, unknown>;
}

/** JSON with object keys sorted at every level (numbers as JSON writes them). */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

function defaultSettings(overrides: Partial<RegistrySettings> = {}): RegistrySettings {
  const c = ccnConfig({ dataDir: '/nonexistent' });
  return {
    tag: c.registryTag,
    maxLinkedCrns: c.maxLinkedCrns,
    ccnOwnerMinBalance: c.ccnOwnerMinBalance,
    stakerMinBalance: c.stakerMinBalance,
    ccnActivationStake: c.ccnActivationStake,
    balanceIndexers: c.balanceIndexers,
    scoresSenders: c.scoresSenders,
    ...overrides,
  };
}

const byKey = <T>(key: (t: T) => string) => (a: T, b: T): number => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);

/** The canonical derived state of one node. */
export async function canonicalState(stores: Stores, opts: DigestOptions = {}): Promise<Record<string, unknown>> {
  const db = stores.db;
  const rows = await db.selectFrom('messages').selectAll().orderBy('item_hash').execute();
  const messages = rows.map((r) => ({
    item_hash: r.item_hash,
    status: r.status,
    type: r.type,
    item_content: r.item_content,
    content: r.content === null ? null : (JSON.parse(r.content) as unknown),
    content_time: r.status === 'processed' || r.status === 'forgotten' ? r.content_time : null,
    size: r.status === 'processed' ? r.size : null,
    owner: r.owner_lc,
    content_type: r.content_type,
    content_ref: r.content_ref,
    content_key: r.content_key,
    content_item_hash: r.content_item_hash,
    payment_type: r.payment_type,
    tags: JSON.parse(r.tags) as unknown,
    error_code: r.status === 'rejected' ? r.error_code : null,
    error_details: r.status === 'rejected' ? r.error_details : null,
    forgotten_by: r.forgotten_by === null ? null : (JSON.parse(r.forgotten_by) as unknown),
    post_last_amend: r.post_last_amend,
    post_last_updated: r.post_last_updated,
  }));
  const tags = await db.selectFrom('message_tags').selectAll().orderBy('item_hash').orderBy('tag').execute();
  const refs = await db.selectFrom('message_refs').selectAll().orderBy('item_hash').orderBy('ref').execute();
  const owners = (await db.selectFrom('aggregate_elements').select('owner_lc').distinct().orderBy('owner_lc').execute()).map((r) => r.owner_lc);
  const aggregates: Record<string, unknown> = {};
  for (const owner of owners) aggregates[owner] = (await stores.aggregates.values(owner)).sort(byKey((v) => v.key));
  const posts = await stores.messages.listPosts({}, { perPage: 0, page: 1, sortOrder: 1 });
  const postView = await Promise.all(
    posts.rows.map(async (p) => ({
      original: p.item_hash,
      latest: p.post_last_amend ? ((await stores.messages.get(p.post_last_amend))?.content ?? 'missing') : p.content,
      last_updated: p.post_last_updated,
    })),
  );
  const registry = new RegistryService(stores.messages, opts.registryAddress ?? '0x0000000000000000000000000000000000000000', defaultSettings(opts.registry));
  const snapshot = await registry.snapshot();
  const balances = await db.selectFrom('balances').selectAll().orderBy('address_lc').orderBy('chain').orderBy('dapp').execute();
  const reports = await db.selectFrom('balance_reports').selectAll().orderBy('item_hash').orderBy('address_lc').orderBy('chain').orderBy('dapp').execute();
  const files = await db.selectFrom('files').select(['hash', 'size', 'engine']).orderBy('hash').execute();
  const pins = await db.selectFrom('file_pins').selectAll().orderBy('file_hash').orderBy('item_hash').execute();
  const payments = await paymentsState(stores);
  return {
    payments,
    messages,
    tags,
    refs,
    aggregates,
    posts: postView,
    registry: {
      value: snapshot.value,
      outcomes: [...snapshot.outcomes.values()].sort(byKey((o) => o.itemHash)),
      created: snapshot.created,
      lastUpdated: snapshot.lastUpdated,
      originalItemHash: snapshot.originalItemHash,
      lastUpdateItemHash: snapshot.lastUpdateItemHash,
    },
    balances: balances.map((b) => ({ ...b, balance: Number(b.balance), height: Number(b.height) })),
    balanceReports: reports.map((b) => ({ ...b, balance: Number(b.balance), height: Number(b.height), time: Number(b.time) })),
    files: files.map((f) => ({ ...f, size: Number(f.size) })),
    pins,
  };
}

/**
 * Payment state (issue 14): recorded costs, credit movements and consumption, flow reports,
 * removals, and what is derived from them (each address's credit lots and current flows).
 */
async function paymentsState(stores: Stores): Promise<Record<string, unknown>> {
  const db = stores.db;
  const num = <T extends Record<string, unknown>>(row: T, keys: (keyof T)[]): T => {
    const out = { ...row };
    for (const k of keys) if (out[k] !== null) (out as Record<keyof T, unknown>)[k] = Number(out[k]);
    return out;
  };
  const costs = (await db.selectFrom('message_costs').selectAll().orderBy('item_hash').execute()).map((r) => num(r, ['charged', 'time']));
  const credits = (await db.selectFrom('credit_events').selectAll().orderBy('item_hash').orderBy('idx').orderBy('kind').execute()).map((r) => num(r, ['idx', 'amount', 'time', 'expiration']));
  const consumption = (await db.selectFrom('credit_consumption').selectAll().orderBy('item_hash').orderBy('boundary').execute()).map((r) => num(r, ['boundary', 'amount', 'cumulative']));
  const flows = (await db.selectFrom('flow_reports').selectAll().orderBy('item_hash').orderBy('idx').execute()).map((r) => num(r, ['idx', 'time']));
  const removals = (await db.selectFrom('message_removals').selectAll().orderBy('item_hash').execute()).map((r) => num(r, ['removing_since', 'removing_at', 'removed_at']));
  const lots: Record<string, unknown> = {};
  const currentFlows: Record<string, unknown> = {};
  for (const address of await stores.payments.creditAddresses()) {
    lots[address] = replayCredits(await stores.payments.creditEvents(address), Number.MAX_SAFE_INTEGER).lots;
  }
  for (const f of await stores.payments.allCurrentFlows()) currentFlows[`${f.chain}:${f.sender}:${f.receiver}`] = f;
  return { costs, credits, consumption, flows, removals, lots, currentFlows };
}

/** The digest of one node's derived state. */
export async function stateDigest(stores: Stores, opts: DigestOptions = {}): Promise<StateDigest> {
  const state = await canonicalState(stores, opts);
  return { digest: createHash('sha256').update(canonicalJson(state)).digest('hex'), state };
}

/** The first differences between two canonical states (part, then entry), for assertion messages. */
export function stateDifferences(a: Record<string, unknown>, b: Record<string, unknown>, max = 10): string[] {
  const out: string[] = [];
  for (const part of Object.keys({ ...a, ...b })) {
    const x = a[part];
    const y = b[part];
    if (canonicalJson(x) === canonicalJson(y)) continue;
    if (Array.isArray(x) && Array.isArray(y)) {
      for (let i = 0; i < Math.max(x.length, y.length) && out.length < max; i++) {
        if (canonicalJson(x[i]) !== canonicalJson(y[i])) out.push(`${part}[${i}]: ${canonicalJson(x[i])} ≠ ${canonicalJson(y[i])}`);
      }
    } else out.push(`${part}: ${canonicalJson(x).slice(0, 2000)} ≠ ${canonicalJson(y).slice(0, 2000)}`);
    if (out.length >= max) break;
  }
  return out;
}
