/**
 * The anti-entropy routes this node serves to its peers (protocol in wire.ts). Read-only: a peer
 * learns what this node holds and gets the signed envelopes; it cannot write through them (what
 * it sends us goes through its own serving, and our puller validates it). Bounded: a page holds
 * at most `syncPageSize` entries, a batch at most `syncBatchSize` hashes and about
 * `syncMaxBatchBytes` of envelopes (the rest is omitted and asked again).
 */
import { itemTypeOfHash } from '@aleph-nodes/protocol';
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../api/context.ts';
import type { CcnConfig } from '../config.ts';
import type { Stores } from '../stores.ts';
import { CCN_ERRORS } from '../errors.ts';
import { envelopeOf, SERVED_STATUSES, SyncRepo } from './repo.ts';
import { SYNC_BATCH_PATH, SYNC_PAGE_PATH, SYNC_STATUS_PATH, type SyncBatch, type SyncPage } from './wire.ts';

function intParam(value: unknown, name: string, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  if (typeof value !== 'string' || !/^\d{1,15}$/.test(value)) throw CCN_ERRORS.error('INVALID_PARAMETER', `${name} must be a non-negative integer`);
  return Number(value);
}

/** What the sync routes read: the message log, the page and batch bounds, and the puller's status. */
export interface SyncRouteDeps {
  stores: Pick<Stores, 'db'>;
  config: Pick<CcnConfig, 'syncPageSize' | 'syncBatchSize' | 'syncMaxBatchBytes'>;
  sync: ApiContext['sync'];
}

export async function syncRoutes(app: FastifyInstance, ctx: SyncRouteDeps): Promise<void> {
  const repo = new SyncRepo(ctx.stores.db);
  const { syncPageSize, syncBatchSize, syncMaxBatchBytes } = ctx.config;

  app.get(SYNC_PAGE_PATH, async (request): Promise<SyncPage> => {
    const q = request.query as Record<string, unknown>;
    const after = intParam(q.after, 'after', 0);
    const limit = Math.min(Math.max(intParam(q.limit, 'limit', syncPageSize), 1), syncPageSize);
    const messages = await repo.page(after, limit);
    // Read after the page: never below its last entry.
    const lastSeq = await repo.lastSeq();
    return { messages, next: messages.at(-1)?.seq ?? Math.min(after, lastSeq), last_seq: lastSeq };
  });

  app.get(SYNC_BATCH_PATH, async (request): Promise<SyncBatch> => {
    const raw = (request.query as Record<string, unknown>).hashes;
    if (typeof raw !== 'string' || raw === '') throw CCN_ERRORS.error('INVALID_PARAMETER', 'hashes must be a comma-separated list of item hashes');
    const hashes = [...new Set(raw.split(','))];
    if (hashes.length > syncBatchSize) throw CCN_ERRORS.error('INVALID_PARAMETER', `at most ${syncBatchSize} hashes per batch`);
    const bad = hashes.find((h) => itemTypeOfHash(h) === undefined);
    if (bad !== undefined) throw CCN_ERRORS.error('INVALID_PARAMETER', `${bad.slice(0, 80)} is not an item hash`);
    const rows = new Map((await repo.rows(hashes)).map((r) => [r.item_hash, r]));
    const out: SyncBatch = { messages: [], forgotten: [], missing: [] };
    let bytes = 0;
    for (const hash of hashes) {
      const row = rows.get(hash);
      if (row?.status === 'forgotten') out.forgotten.push(hash);
      else if (!row || !SERVED_STATUSES.has(row.status)) out.missing.push(hash);
      else {
        const envelope = envelopeOf(row);
        const size = Buffer.byteLength(JSON.stringify(envelope));
        // Left out (neither missing nor forgotten): the peer asks for it again.
        if (out.messages.length > 0 && bytes + size > syncMaxBatchBytes) continue;
        bytes += size;
        out.messages.push(envelope);
      }
    }
    return out;
  });

  app.get(SYNC_STATUS_PATH, async () => {
    if (!ctx.sync) throw CCN_ERRORS.error('NOT_FOUND', 'sync is not running on this node');
    return ctx.sync.status();
  });
}
