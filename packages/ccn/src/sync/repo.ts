/**
 * The database side of anti-entropy: the page of the local sequence (serving), what the node
 * already holds (pulling), the per-peer cursors, and the files fetched from peers.
 *
 * The tables and the `messages.seq` column come from migration 0010 (db/migrations/0010-sync.ts);
 * their types are declared here so the shared schema stays untouched by this room.
 */
import type { MessageRow } from '../db/messages-repo.ts';
import { toEnvelope } from '../db/message-views.ts';
import type { MessageStatus, MessagesTable, Tables } from '../db/schema.ts';
import type { Kysely } from 'kysely';

interface SyncCursorsTable {
  peer_url: string;
  cursor: number | string;
  updated_at: number;
}

interface SyncFilesTable {
  hash: string;
  fetched_at: number;
  last_read: number;
  evicted: number;
}

type SyncDb = Omit<Tables, 'messages'> & {
  messages: MessagesTable & { seq: number | string | null };
  sync_cursors: SyncCursorsTable;
  sync_files: SyncFilesTable;
};

/** Statuses listed in the pages (every row that has a seq). */
export type ListedStatus = 'processed' | 'removing' | 'removed' | 'forgotten';
export const LISTED_STATUSES: readonly ListedStatus[] = ['processed', 'removing', 'removed', 'forgotten'];
/** Statuses whose envelope is served: a forgotten message's content is gone. */
export const SERVED_STATUSES: ReadonlySet<MessageStatus> = new Set(['processed', 'removing', 'removed']);

export interface PageEntry {
  seq: number;
  item_hash: string;
  status: ListedStatus;
}

export interface LocalState {
  status: MessageStatus;
  error_code: number | null;
  raw: string;
}

/** A pending message waiting for a file: which file, and why. */
export interface FileWait {
  itemHash: string;
  type: string;
  itemType: string;
  itemContent: string | null;
  errorCode: number | null;
}

export class SyncRepo {
  readonly #db: Kysely<SyncDb>;

  constructor(db: Kysely<Tables>) {
    this.#db = db as unknown as Kysely<SyncDb>;
  }

  /** Rows after `after` in sequence order, at most `limit`. */
  async page(after: number, limit: number): Promise<PageEntry[]> {
    const rows = await this.#db
      .selectFrom('messages')
      .select(['seq', 'item_hash', 'status'])
      .where('seq', '>', after)
      // A row keeps its seq if its status ever leaves these (a recomputation): not listed then.
      .where('status', 'in', [...LISTED_STATUSES])
      .orderBy('seq')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ seq: Number(r.seq), item_hash: r.item_hash, status: r.status as ListedStatus }));
  }

  async lastSeq(): Promise<number> {
    const row = await this.#db.selectFrom('messages').select((eb) => eb.fn.max('seq').as('n')).executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  /** Rows of the given hashes (any status), for the batch route. */
  rows(hashes: readonly string[]): Promise<MessageRow[]> {
    if (hashes.length === 0) return Promise.resolve([]);
    return this.#db.selectFrom('messages').selectAll().where('item_hash', 'in', [...hashes]).execute() as Promise<MessageRow[]>;
  }

  /** What this node holds of the given hashes. */
  async known(hashes: readonly string[]): Promise<Map<string, LocalState>> {
    const out = new Map<string, LocalState>();
    if (hashes.length === 0) return out;
    const rows = await this.#db.selectFrom('messages').select(['item_hash', 'status', 'error_code', 'raw']).where('item_hash', 'in', [...hashes]).execute();
    for (const r of rows) out.set(r.item_hash, { status: r.status, error_code: r.error_code, raw: r.raw });
    return out;
  }

  async cursor(peerUrl: string): Promise<number> {
    const row = await this.#db.selectFrom('sync_cursors').select('cursor').where('peer_url', '=', peerUrl).executeTakeFirst();
    return Number(row?.cursor ?? 0);
  }

  async setCursor(peerUrl: string, cursor: number, now: number): Promise<void> {
    await this.#db
      .insertInto('sync_cursors')
      .values({ peer_url: peerUrl, cursor, updated_at: now })
      .onConflict((oc) => oc.column('peer_url').doUpdateSet({ cursor, updated_at: now }))
      .execute();
  }

  async cursors(): Promise<Map<string, number>> {
    const rows = await this.#db.selectFrom('sync_cursors').select(['peer_url', 'cursor']).execute();
    return new Map(rows.map((r) => [r.peer_url, Number(r.cursor)]));
  }

  /** Pending (or rejected) messages whose last attempt lacked a file or a content. */
  async waitingForFiles(codes: readonly number[], statuses: readonly MessageStatus[], limit: number): Promise<FileWait[]> {
    const rows = await this.#db
      .selectFrom('messages')
      .select(['item_hash', 'type', 'item_type', 'item_content', 'error_code'])
      .where('status', 'in', [...statuses])
      .where('error_code', 'in', [...codes])
      .orderBy('reception_time')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ itemHash: r.item_hash, type: r.type, itemType: r.item_type, itemContent: r.item_content, errorCode: r.error_code }));
  }

  // ---- files fetched from peers (filesKept = referenced) ----

  async recordFetched(hash: string, now: number): Promise<void> {
    await this.#db
      .insertInto('sync_files')
      .values({ hash, fetched_at: now, last_read: now, evicted: 0 })
      .onConflict((oc) => oc.column('hash').doUpdateSet({ fetched_at: now, last_read: now, evicted: 0 }))
      .execute();
  }

  async touchFetched(hash: string, now: number): Promise<void> {
    await this.#db.updateTable('sync_files').set({ last_read: now }).where('hash', '=', hash).execute();
  }

  async markEvicted(hash: string): Promise<void> {
    await this.#db.updateTable('sync_files').set({ evicted: 1 }).where('hash', '=', hash).execute();
  }

  /** Fetched files still held, not read since `before`, and pinned by a processed STORE. */
  async evictionCandidates(before: number, limit: number): Promise<string[]> {
    const rows = await this.#db
      .selectFrom('sync_files')
      .select('hash')
      .where('evicted', '=', 0)
      .where('last_read', '<', before)
      .where((eb) => eb.exists(eb.selectFrom('file_pins').select('file_pins.item_hash').whereRef('file_pins.file_hash', '=', 'sync_files.hash')))
      .limit(limit)
      .execute();
    return rows.map((r) => r.hash);
  }

  /**
   * File hashes the workloads placed on this node's CRNs need: the files of the STORE messages
   * their code, runtime, data, volumes and rootfs name (message_refs).
   */
  async referencedFiles(): Promise<Set<string>> {
    const rows = await this.#db
      .selectFrom('allocations')
      .innerJoin('message_refs', 'message_refs.item_hash', 'allocations.item_hash')
      .innerJoin('messages', 'messages.item_hash', 'message_refs.ref')
      .select('messages.content_item_hash')
      .where('allocations.crn_hash', 'is not', null)
      .execute();
    return new Set(rows.flatMap((r) => (r.content_item_hash ? [r.content_item_hash] : [])));
  }

  /** Size of a file this node knows (its `files` row), held or not. */
  async fileRow(hash: string): Promise<{ engine: string; size: number } | undefined> {
    return this.#db.selectFrom('files').select(['engine', 'size']).where('hash', '=', hash).executeTakeFirst();
  }
}

/** The signed envelope of a row, as a peer validates it (no node-derived fields). */
export function envelopeOf(row: MessageRow): Record<string, unknown> {
  const env = toEnvelope(row);
  const out: Record<string, unknown> = { ...env };
  if (env.channel === null || env.channel === undefined) delete out.channel;
  if (env.item_type !== 'inline') delete out.item_content;
  return out;
}
