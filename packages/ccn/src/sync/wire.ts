/**
 * The anti-entropy protocol between CCNs (served by routes.ts, spoken by puller.ts):
 *
 *   GET /api/v0/sync/messages?after=<seq>&limit=<n>
 *     → {"messages": [{"seq", "item_hash", "status"}], "next": <seq>, "last_seq": <seq>}
 *   GET /api/v0/sync/messages/batch?hashes=<h1>,<h2>,…
 *     → {"messages": [<signed envelope>], "forgotten": [<hash>], "missing": [<hash>]}
 *
 * `seq` is the serving node's own sequence (strictly increasing, never reused); entries are in
 * seq order, all after `after`; `next` is the cursor to ask with next time. Statuses are
 * `processed`, `removing`, `removed` (the envelope is served) and `forgotten` (listed so the
 * cursor moves past it; its content is gone and is not served).
 */
import { isItemHash } from '@aleph-nodes/protocol';
import { z } from 'zod';

export const SYNC_PAGE_PATH = '/api/v0/sync/messages';
export const SYNC_BATCH_PATH = '/api/v0/sync/messages/batch';
export const SYNC_STATUS_PATH = '/api/v0/sync/status';

const hash = z.string().max(128).refine(isItemHash, 'not an item hash');
const seq = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const PageEntrySchema = z.object({
  seq,
  item_hash: hash,
  status: z.enum(['processed', 'removing', 'removed', 'forgotten']),
});

export const PageSchema = z.object({
  messages: z.array(PageEntrySchema),
  next: seq,
  last_seq: seq,
});
export type SyncPage = z.infer<typeof PageSchema>;

export const BatchSchema = z.object({
  // Each one is validated as a submitted message (processor.submit): only the shape of a JSON
  // object is required here.
  messages: z.array(z.record(z.string(), z.unknown())),
  forgotten: z.array(hash).default([]),
  missing: z.array(hash).default([]),
});
export type SyncBatch = z.infer<typeof BatchSchema>;

/** pyaleph's `GET /api/v0/storage/<hash>` answer (the file as base64). */
export const PyalephFileSchema = z.object({
  status: z.literal('success'),
  content: z.string(),
});
