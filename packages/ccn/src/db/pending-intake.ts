/**
 * Queueing many submitted messages in one transaction (group commit): one durable commit (one
 * fsync on SQLite, one WAL flush on PostgreSQL) for every message that arrived while the previous
 * commit was running, instead of one per message. Each message keeps the rule of a single
 * submission: a message already known keeps its status, a rejected one is queued again, a new
 * one is inserted as pending.
 */
import type { AlephMessage } from '@aleph-nodes/protocol';
import type { Kysely } from 'kysely';
import { pendingRow, type MessageStatus } from './messages-repo.ts';
import type { Tables } from './schema.ts';

export interface PendingIntake {
  message: AlephMessage;
  /** The envelope as received, JSON text (stored as is in `raw`). */
  rawJson: string;
  receptionTime: number;
}

/** `queued`: inserted (or a rejected one queued again) by this batch; otherwise the status it already had. */
export type IntakeResult = { queued: true } | { queued: false; status: MessageStatus };

/** Rows per INSERT: ~30 columns each keeps a statement far below SQLite's 32,766 parameters. */
const ROWS_PER_INSERT = 200;
/** Hashes per `IN (...)` lookup. */
const HASHES_PER_LOOKUP = 500;

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Queues `items` in one transaction; the results are in the same order. Throws (nothing
 * committed) when the transaction fails: the caller decides how to retry.
 */
export function queuePending(db: Kysely<Tables>, items: readonly PendingIntake[]): Promise<IntakeResult[]> {
  return db.transaction().execute(async (trx) => {
    const hashes = [...new Set(items.map((i) => i.message.item_hash))];
    const known = new Map<string, MessageStatus>();
    for (const part of chunks(hashes, HASHES_PER_LOOKUP)) {
      const rows = await trx.selectFrom('messages').select(['item_hash', 'status']).where('item_hash', 'in', part).execute();
      for (const row of rows) known.set(row.item_hash, row.status);
    }
    const results: IntakeResult[] = [];
    const toInsert: PendingIntake[] = [];
    const rejected: string[] = [];
    for (const item of items) {
      const hash = item.message.item_hash;
      const status = known.get(hash);
      if (status !== undefined && status !== 'rejected') {
        results.push({ queued: false, status });
        continue;
      }
      if (status === 'rejected') rejected.push(hash);
      // A second copy of the same message in this batch finds the first one pending.
      known.set(hash, 'pending');
      toInsert.push(item);
      results.push({ queued: true });
    }
    for (const part of chunks(rejected, HASHES_PER_LOOKUP)) {
      await trx.deleteFrom('messages').where('item_hash', 'in', part).where('status', '=', 'rejected').execute();
    }
    for (const part of chunks(toInsert, ROWS_PER_INSERT)) {
      await trx
        .insertInto('messages')
        .values(part.map((i) => pendingRow(i.message, i.rawJson, i.receptionTime)))
        .execute();
    }
    return results;
  });
}
