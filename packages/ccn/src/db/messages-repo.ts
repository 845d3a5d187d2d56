/**
 * Message rows: one row per item_hash whatever its status. The wire fields are kept exactly as
 * received; derived columns (owner, post type, ref, key, tags...) exist only for filtering and
 * never leave this module inside a message object.
 */
import type { AlephMessage } from '@aleph-nodes/protocol';
import type { Expression, ExpressionBuilder, Insertable, Kysely, Selectable, SqlBool } from 'kysely';
import { countOf } from './database.ts';
import type { MessageStatus, MessagesTable, Tables } from './schema.ts';

export type { MessageStatus } from './schema.ts';
export const MESSAGE_STATUSES: readonly MessageStatus[] = ['pending', 'processed', 'rejected', 'forgotten', 'removing', 'removed'];

export type MessageRow = Selectable<MessagesTable>;

/**
 * The filtering columns of a message not (or no longer) processed: what an insert starts with and
 * what a message sent back to pending loses (they are derived again when it is processed).
 */
export const NO_DERIVED_COLUMNS = {
  size: null,
  owner_lc: null,
  content_type: null,
  content_ref: null,
  content_key: null,
  content_item_hash: null,
  payment_type: null,
  tags: '[]',
} as const;

/** Columns derived from a parsed content, for filtering. */
export interface DerivedColumns {
  content: string;
  content_time: number;
  size: number;
  owner_lc: string;
  content_type: string | null;
  content_ref: string | null;
  content_key: string | null;
  content_item_hash: string | null;
  payment_type: string | null;
  tags: string[];
  /** STORE messages the content depends on (executables). */
  refs: string[];
}

export interface MessageFilter {
  types?: string[];
  statuses?: MessageStatus[];
  senders?: string[];
  owners?: string[];
  refs?: string[];
  contentHashes?: string[];
  contentKeys?: string[];
  contentTypes?: string[];
  chains?: string[];
  channels?: string[];
  hashes?: string[];
  tags?: string[];
  paymentTypes?: string[];
  /** Inclusive, seconds. */
  startDate?: number;
  /** Exclusive, seconds. */
  endDate?: number;
}

export interface PageRequest {
  /** 0 = no limit. */
  perPage: number;
  /** From 1. */
  page: number;
  sortOrder: 1 | -1;
}

type MessagesEb = ExpressionBuilder<Tables, 'messages'>;
type ListColumn = 'status' | 'type' | 'sender_lc' | 'owner_lc' | 'content_ref' | 'content_item_hash' | 'content_key' | 'content_type' | 'chain' | 'channel' | 'item_hash' | 'payment_type';

/** The conditions of a filter; dates apply to the message time or, for posts, the last update. */
function filterConditions(eb: MessagesEb, f: MessageFilter, dateColumn: 'time' | 'post_updated' = 'time'): Expression<SqlBool>[] {
  const conds: Expression<SqlBool>[] = [];
  const add = (column: ListColumn, values: readonly string[] | undefined): void => {
    if (values && values.length > 0) conds.push(eb(column, 'in', values as string[]));
  };
  add('status', f.statuses);
  add('type', f.types);
  add('sender_lc', f.senders?.map((s) => s.toLowerCase()));
  add('owner_lc', f.owners?.map((s) => s.toLowerCase()));
  add('content_ref', f.refs);
  add('content_item_hash', f.contentHashes);
  add('content_key', f.contentKeys);
  add('content_type', f.contentTypes);
  add('chain', f.chains);
  add('channel', f.channels);
  add('item_hash', f.hashes);
  add('payment_type', f.paymentTypes);
  if (f.tags && f.tags.length > 0) {
    const tags = f.tags;
    conds.push(eb.exists(eb.selectFrom('message_tags').select('message_tags.tag').whereRef('message_tags.item_hash', '=', 'messages.item_hash').where('message_tags.tag', 'in', tags)));
  }
  const date = dateColumn === 'time' ? eb.ref('time') : eb.fn.coalesce('post_last_updated', 'time');
  if (f.startDate) conds.push(eb(date, '>=', f.startDate));
  if (f.endDate) conds.push(eb(date, '<', f.endDate));
  return conds;
}

/** The row of a message new to this node: pending, nothing derived yet. `rawJson` is the envelope as received. */
export function pendingRow(msg: AlephMessage, rawJson: string, receptionTime: number): Insertable<MessagesTable> {
  return {
    item_hash: msg.item_hash,
    status: 'pending',
    chain: msg.chain,
    sender: msg.sender,
    sender_lc: msg.sender.toLowerCase(),
    type: msg.type,
    channel: msg.channel ?? null,
    time: msg.time,
    item_type: msg.item_type,
    item_content: msg.item_content ?? null,
    signature: msg.signature,
    content: null,
    content_time: null,
    ...NO_DERIVED_COLUMNS,
    reception_time: receptionTime,
    raw: rawJson,
    error_code: null,
    error_details: null,
    forgotten_by: null,
    retries: 0,
    next_attempt: 0,
    retry_at: 0,
    post_last_amend: null,
    post_last_updated: null,
    waiting_for: null,
  };
}

export class MessagesRepo {
  readonly #db: Kysely<Tables>;

  constructor(db: Kysely<Tables>) {
    this.#db = db;
  }

  get(itemHash: string): Promise<MessageRow | undefined> {
    return this.#db.selectFrom('messages').selectAll().where('item_hash', '=', itemHash).executeTakeFirst();
  }

  /** Inserts a new pending message. */
  async insertPending(msg: AlephMessage, raw: unknown, receptionTime: number): Promise<void> {
    await this.#db.insertInto('messages').values(pendingRow(msg, JSON.stringify(raw), receptionTime)).execute();
  }

  /** A rejected message submitted again gets a fresh chance, with the new envelope. */
  async resetToPending(msg: AlephMessage, raw: unknown, receptionTime: number): Promise<void> {
    await this.#db.deleteFrom('messages').where('item_hash', '=', msg.item_hash).where('status', '=', 'rejected').execute();
    await this.insertPending(msg, raw, receptionTime);
  }

  /** Pending messages due for an attempt, oldest reception first. */
  duePending(now: number, limit: number): Promise<MessageRow[]> {
    return this.#db
      .selectFrom('messages')
      .selectAll()
      .where('status', '=', 'pending')
      .where('next_attempt', '<=', now)
      .orderBy('reception_time')
      .orderBy('item_hash')
      .limit(limit)
      .execute();
  }

  async nextPendingAttempt(): Promise<number | undefined> {
    const row = await this.#db.selectFrom('messages').select((eb) => eb.fn.min('next_attempt').as('t')).where('status', '=', 'pending').executeTakeFirst();
    return row?.t === null || row?.t === undefined ? undefined : Number(row.t);
  }

  /** Makes every waiting pending message due now (a dependency may just have arrived). */
  async wakeWaiting(now: number): Promise<void> {
    await this.#db.updateTable('messages').set({ next_attempt: now }).where('status', '=', 'pending').where('retries', '>', 0).execute();
  }

  /** The next counted attempt, and what the message waits for (see `waiting_for`). */
  async scheduleRetry(itemHash: string, retries: number, nextAttempt: number, errorCode: number, details: string, waitingFor: string | null = null): Promise<void> {
    await this.#db
      .updateTable('messages')
      .set({ retries, next_attempt: nextAttempt, retry_at: nextAttempt, error_code: errorCode, error_details: details, waiting_for: waitingFor })
      .where('item_hash', '=', itemHash)
      .execute();
  }

  /** An early (woken) attempt failed: wait for the scheduled retry without counting this one. */
  async backToSchedule(itemHash: string, waitingFor: string | null = null): Promise<void> {
    await this.#db
      .updateTable('messages')
      .set((eb) => ({ next_attempt: eb.ref('retry_at'), waiting_for: waitingFor }))
      .where('item_hash', '=', itemHash)
      .execute();
  }

  /** Rejects; with `waitingFor`, the message is evaluated again when that dependency settles. */
  async reject(itemHash: string, errorCode: number, details: string, waitingFor: string | null = null): Promise<void> {
    await this.#db
      .updateTable('messages')
      .set({ status: 'rejected', error_code: errorCode, error_details: details, waiting_for: waitingFor })
      .where('item_hash', '=', itemHash)
      .execute();
  }

  async markProcessed(itemHash: string, d: DerivedColumns): Promise<void> {
    await this.#db
      .updateTable('messages')
      .set({
        status: 'processed',
        content: d.content,
        content_time: d.content_time,
        size: d.size,
        owner_lc: d.owner_lc,
        content_type: d.content_type,
        content_ref: d.content_ref,
        content_key: d.content_key,
        content_item_hash: d.content_item_hash,
        payment_type: d.payment_type,
        tags: JSON.stringify(d.tags),
        error_code: null,
        error_details: null,
        waiting_for: null,
      })
      .where('item_hash', '=', itemHash)
      .execute();
    if (d.tags.length > 0) {
      await this.#db
        .insertInto('message_tags')
        .values([...new Set(d.tags)].map((tag) => ({ item_hash: itemHash, tag })))
        .onConflict((oc) => oc.doNothing())
        .execute();
    }
    if (d.refs.length > 0) {
      await this.#db
        .insertInto('message_refs')
        .values([...new Set(d.refs)].map((ref) => ({ item_hash: itemHash, ref })))
        .onConflict((oc) => oc.doNothing())
        .execute();
    }
  }

  /**
   * Forgets a message: its content goes, its header stays, `forgotten_by` grows. The list is
   * kept sorted (a set: the same on every node whatever order the FORGETs came in; pyaleph
   * appends in processing order). The STORE refs of a forgotten executable stay recorded: a
   * FORGET of that STORE is judged on the executables that used it before (processing/order.ts).
   */
  async markForgotten(itemHash: string, forgetHash: string): Promise<void> {
    const row = await this.get(itemHash);
    if (!row) return;
    const by = row.forgotten_by ? (JSON.parse(row.forgotten_by) as string[]) : [];
    if (!by.includes(forgetHash)) by.push(forgetHash);
    by.sort();
    await this.#db
      .updateTable('messages')
      .set({ status: 'forgotten', item_content: null, content: null, forgotten_by: JSON.stringify(by), waiting_for: null, error_code: null, error_details: null })
      .where('item_hash', '=', itemHash)
      .execute();
    await this.#db.deleteFrom('message_tags').where('item_hash', '=', itemHash).execute();
  }

  /** Replaces the list of FORGETs a forgotten message is forgotten by (kept sorted). */
  async setForgottenBy(itemHash: string, forgetHashes: readonly string[]): Promise<void> {
    await this.#db
      .updateTable('messages')
      .set({ forgotten_by: JSON.stringify([...forgetHashes].sort()) })
      .where('item_hash', '=', itemHash)
      .execute();
  }

  async setPostLatest(originalHash: string, amendHash: string | null, lastUpdated: number | null): Promise<void> {
    await this.#db.updateTable('messages').set({ post_last_amend: amendHash, post_last_updated: lastUpdated }).where('item_hash', '=', originalHash).execute();
  }

  /** Processed amends of a post, newest content time first. */
  amendsOf(originalHash: string): Promise<MessageRow[]> {
    return this.#db
      .selectFrom('messages')
      .selectAll()
      .where('type', '=', 'POST')
      .where('content_type', '=', 'amend')
      .where('content_ref', '=', originalHash)
      .where('status', '=', 'processed')
      .orderBy('content_time', 'desc')
      .orderBy('item_hash', 'desc')
      .execute();
  }

  async count(filter: MessageFilter): Promise<number> {
    const row = await this.#db
      .selectFrom('messages')
      .select((eb) => eb.fn.countAll().as('n'))
      .where((eb) => eb.and(filterConditions(eb, filter)))
      .executeTakeFirst();
    return countOf(row as { n: string | number } | undefined);
  }

  list(filter: MessageFilter, page: PageRequest): Promise<MessageRow[]> {
    const dir = page.sortOrder === 1 ? 'asc' : 'desc';
    let q = this.#db
      .selectFrom('messages')
      .selectAll()
      .where((eb) => eb.and(filterConditions(eb, filter)))
      .orderBy('time', dir)
      .orderBy('item_hash', dir);
    if (page.perPage > 0) q = q.limit(page.perPage).offset((page.page - 1) * page.perPage);
    return q.execute();
  }

  /** Cursor paging: rows strictly after (time, item_hash) in the sort order. */
  listAfter(filter: MessageFilter, limit: number, sortOrder: 1 | -1, after: { time: number; hash: string } | undefined): Promise<MessageRow[]> {
    const dir = sortOrder === 1 ? 'asc' : 'desc';
    const cmp = sortOrder === 1 ? '>' : '<';
    return this.#db
      .selectFrom('messages')
      .selectAll()
      .where((eb) => {
        const conds = filterConditions(eb, filter);
        if (after) conds.push(eb.or([eb('time', cmp, after.time), eb.and([eb('time', '=', after.time), eb('item_hash', cmp, after.hash)])]));
        return eb.and(conds);
      })
      .orderBy('time', dir)
      .orderBy('item_hash', dir)
      .limit(limit)
      .execute();
  }

  /**
   * Original posts (not amends), processed, ordered by their last update (the latest amend's
   * time, else their own); `filter.contentTypes` matches the original post type. With `after`
   * (cursor paging): the `perPage` posts strictly after that (last update, original hash), no total.
   */
  async listPosts(filter: MessageFilter, page: PageRequest & { after?: { time: number; hash: string } | null }): Promise<{ rows: MessageRow[]; total: number }> {
    const updated = (eb: MessagesEb) => eb.fn.coalesce('post_last_updated', 'time');
    const where = (eb: MessagesEb): Expression<SqlBool> =>
      eb.and([...filterConditions(eb, { ...filter, types: ['POST'], statuses: ['processed'] }, 'post_updated'), eb('content_type', '!=', 'amend')]);
    const cursorMode = page.after !== undefined;
    const total = cursorMode
      ? -1
      : countOf((await this.#db.selectFrom('messages').select((eb) => eb.fn.countAll().as('n')).where(where).executeTakeFirst()) as { n: string | number } | undefined);
    const dir = page.sortOrder === 1 ? 'asc' : 'desc';
    const cmp = page.sortOrder === 1 ? '>' : '<';
    const after = page.after;
    let q = this.#db
      .selectFrom('messages')
      .selectAll()
      .where(where)
      .orderBy(updated, dir)
      .orderBy('item_hash', dir);
    if (after) q = q.where((eb) => eb.or([eb(updated(eb), cmp, after.time), eb.and([eb(updated(eb), '=', after.time), eb('item_hash', cmp, after.hash)])]));
    if (page.perPage > 0) q = q.limit(page.perPage).offset(cursorMode ? 0 : (page.page - 1) * page.perPage);
    return { rows: await q.execute(), total };
  }

  /** Processed executables that depend on a STORE message, for FORGET checks. */
  executablesUsing(storeHash: string): Promise<MessageRow[]> {
    return this.#db
      .selectFrom('messages')
      .selectAll()
      .where('status', '=', 'processed')
      .where('type', 'in', ['PROGRAM', 'INSTANCE'])
      .where((eb) => eb.exists(eb.selectFrom('message_refs').select('message_refs.ref').whereRef('message_refs.item_hash', '=', 'messages.item_hash').where('message_refs.ref', '=', storeHash)))
      .execute();
  }

  /** Number of messages per status (metrics). */
  async countByStatus(): Promise<Record<string, number>> {
    const rows = await this.#db.selectFrom('messages').select(['status', (eb) => eb.fn.countAll().as('n')]).groupBy('status').execute();
    return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
  }

  /** Processed POSTs of the given post types, for the registry replay. */
  processedPostsOfTypes(types: readonly string[]): Promise<Pick<MessageRow, 'item_hash' | 'sender' | 'content' | 'status' | 'error_details'>[]> {
    return this.#db
      .selectFrom('messages')
      .select(['item_hash', 'sender', 'content', 'status', 'error_details'])
      .where('type', '=', 'POST')
      .where('status', '=', 'processed')
      .where('content_type', 'in', [...types])
      .execute();
  }
}
