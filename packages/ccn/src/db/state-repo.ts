/**
 * Queries of the order-independent state machinery (processing/convergence.ts): what a message
 * waits for, what FORGETs name, which messages depend on which, and the reset that makes a
 * message be evaluated again when something it was judged on changed.
 */
import type { ExpressionBuilder, Kysely } from 'kysely';
import { sql } from './database.ts';
import { NO_DERIVED_COLUMNS, type MessageRow } from './messages-repo.ts';
import type { Tables } from './schema.ts';

/** A position in the total order (processing/order.ts). */
interface Position {
  time: number;
  hash: string;
}

export class StateRepo {
  readonly #db: Kysely<Tables>;

  constructor(db: Kysely<Tables>) {
    this.#db = db;
  }

  /**
   * Makes the messages waiting for `target` due now: pending ones get an attempt, rejected ones
   * (retries used up while it was missing, or refused on its state: `changed:<target>`) become
   * pending again with a fresh retry budget. A refused FORGET naming it is evaluated again too
   * (its verdict was judged on its targets).
   */
  async wakeDependants(target: string, now: number): Promise<number> {
    const keys = [target, `changed:${target}`];
    const namingForgets = (eb: ExpressionBuilder<Tables, 'messages'>) =>
      eb.or([
        eb.and([eb('type', '=', 'FORGET'), eb('item_hash', 'in', eb.selectFrom('forget_targets').select('forget_targets.forget_hash').where('forget_targets.target', '=', target))]),
        eb('item_hash', 'in', eb.selectFrom('message_watch').select('message_watch.item_hash').where('message_watch.key', '=', target)),
      ]);
    const woken = await this.#db
      .updateTable('messages')
      .set({ next_attempt: now })
      .where('status', '=', 'pending')
      .where((eb) => eb.or([eb('waiting_for', 'in', keys), namingForgets(eb)]))
      .executeTakeFirst();
    const revived = await this.#db
      .updateTable('messages')
      .set({ status: 'pending', retries: 0, next_attempt: now, retry_at: 0 })
      .where('status', '=', 'rejected')
      .where((eb) => eb.or([eb('waiting_for', 'in', keys), namingForgets(eb)]))
      .executeTakeFirst();
    return Number(woken.numUpdatedRows) + Number(revived.numUpdatedRows);
  }

  /** Rejected messages that waited for a file the node now holds become pending again. */
  async wakeFileWaiters(now: number): Promise<number> {
    const revived = await this.#db
      .updateTable('messages')
      .set({ status: 'pending', retries: 0, next_attempt: now, retry_at: 0 })
      .where('status', '=', 'rejected')
      .where('waiting_for', 'in', (eb) => eb.selectFrom('files').select('files.hash'))
      .executeTakeFirst();
    return Number(revived.numUpdatedRows);
  }

  /** Replaces what a rejected message watches (see `message_watch`). */
  async setWatch(itemHash: string, keys: readonly string[]): Promise<void> {
    await this.#db.deleteFrom('message_watch').where('item_hash', '=', itemHash).execute();
    if (keys.length === 0) return;
    await this.#db
      .insertInto('message_watch')
      .values([...new Set(keys)].map((key) => ({ item_hash: itemHash, key })))
      .onConflict((oc) => oc.doNothing())
      .execute();
  }

  /** Records the content time of a message as soon as its content is read (its order position). */
  async setContentTime(itemHash: string, time: number): Promise<void> {
    await this.#db.updateTable('messages').set({ content_time: time }).where('item_hash', '=', itemHash).where('content_time', 'is', null).execute();
  }

  async recordForgetTargets(forgetHash: string, targets: readonly string[]): Promise<void> {
    if (targets.length === 0) return;
    await this.#db
      .insertInto('forget_targets')
      .values([...new Set(targets)].map((target) => ({ forget_hash: forgetHash, target })))
      .onConflict((oc) => oc.doNothing())
      .execute();
  }

  /** The FORGET messages naming `target` (any status). */
  forgetsNaming(target: string): Promise<MessageRow[]> {
    return this.#db
      .selectFrom('messages')
      .selectAll()
      .where('type', '=', 'FORGET')
      .where('item_hash', 'in', (eb) => eb.selectFrom('forget_targets').select('forget_targets.forget_hash').where('forget_targets.target', '=', target))
      .orderBy('item_hash')
      .execute();
  }

  /** Messages whose `forgotten_by` lists `forgetHash`. */
  forgottenBy(forgetHash: string): Promise<MessageRow[]> {
    // Hashes are hex: the quoted form cannot match anything but that list entry.
    return this.#db.selectFrom('messages').selectAll().where('status', '=', 'forgotten').where('forgotten_by', 'like', `%"${forgetHash}"%`).execute();
  }

  /**
   * Processed or forgotten messages whose verdict was judged on `hash`: amends and STORE
   * updates naming it, executables using or replacing it.
   */
  dependantsOf(hash: string): Promise<MessageRow[]> {
    return this.#db
      .selectFrom('messages')
      .selectAll()
      .where('status', 'in', ['processed', 'forgotten'])
      .where((eb) =>
        eb.or([
          eb.and([eb('content_ref', '=', hash), eb('type', 'in', ['POST', 'STORE'])]),
          eb('item_hash', 'in', eb.selectFrom('message_refs').select('message_refs.item_hash').where('message_refs.ref', '=', hash)),
        ]),
      )
      .execute();
  }

  /** Executables (any status but pending) recorded as using `storeHash`. */
  usersOf(storeHash: string): Promise<MessageRow[]> {
    return this.#db
      .selectFrom('messages')
      .selectAll()
      .where('type', 'in', ['PROGRAM', 'INSTANCE'])
      .where('item_hash', 'in', (eb) => eb.selectFrom('message_refs').select('message_refs.item_hash').where('message_refs.ref', '=', storeHash))
      .orderBy('content_time')
      .orderBy('item_hash')
      .execute();
  }

  /** Amends of a post, processed or forgotten (a FORGET of the post forgets them all). */
  amendsOf(originalHash: string): Promise<MessageRow[]> {
    return this.#db
      .selectFrom('messages')
      .selectAll()
      .where('type', '=', 'POST')
      .where('content_type', '=', 'amend')
      .where('content_ref', '=', originalHash)
      .where('status', 'in', ['processed', 'forgotten'])
      .execute();
  }

  /** The STOREs (and replaced executable) an executable was recorded as using. */
  async refsOf(itemHash: string): Promise<string[]> {
    return (await this.#db.selectFrom('message_refs').select('ref').where('item_hash', '=', itemHash).orderBy('ref').execute()).map((r) => r.ref);
  }

  /** Messages waiting for `target` (pending, or rejected and waiting). */
  waitingOn(target: string): Promise<MessageRow[]> {
    return this.#db.selectFrom('messages').selectAll().where('status', 'in', ['pending', 'rejected']).where('waiting_for', '=', target).orderBy('item_hash').execute();
  }

  /** AGGREGATE elements of (owner, key), processed or forgotten, in the total order. */
  aggregateElements(owner: string, key: string): Promise<MessageRow[]> {
    return this.#db
      .selectFrom('messages')
      .selectAll()
      .where('type', '=', 'AGGREGATE')
      .where('owner_lc', '=', owner.toLowerCase())
      .where('content_key', '=', key)
      .where('status', 'in', ['processed', 'forgotten'])
      .orderBy('content_time')
      .orderBy('item_hash')
      .execute();
  }

  /**
   * Processed or forgotten messages written for `owner` by someone else after `after` in the
   * total order, and FORGETs by someone else naming that owner's messages or aggregates: what a
   * change of the owner's `security` aggregate may change the verdict of.
   */
  async delegatedAfter(owner: string, after: Position): Promise<MessageRow[]> {
    const lc = owner.toLowerCase();
    const later = sql<boolean>`(content_time > ${after.time} or (content_time = ${after.time} and item_hash > ${after.hash}))`;
    const own = await this.#db
      .selectFrom('messages')
      .selectAll()
      .where('status', 'in', ['processed', 'forgotten'])
      .where('owner_lc', '=', lc)
      .where('sender_lc', '!=', lc)
      .where(later)
      .execute();
    const forgets = await this.#db
      .selectFrom('messages')
      .selectAll()
      .where('type', '=', 'FORGET')
      .where('status', '=', 'processed')
      .where('sender_lc', '!=', lc)
      .where(later)
      .where((eb) =>
        eb.or([
          eb(
            'item_hash',
            'in',
            eb
              .selectFrom('forget_targets')
              .innerJoin('messages as t', 't.item_hash', 'forget_targets.target')
              .select('forget_targets.forget_hash')
              .where('t.owner_lc', '=', lc),
          ),
          eb('item_hash', 'in', eb.selectFrom('forget_targets').select('forget_targets.forget_hash').where('forget_targets.target', 'like', `aggregate:${lc}:%`)),
        ]),
      )
      .execute();
    const seen = new Set(own.map((r) => r.item_hash));
    return [...own, ...forgets.filter((r) => !seen.has(r.item_hash))];
  }

  /**
   * Puts a message back to pending for a fresh evaluation (its effects must already be undone):
   * a forgotten message gets its content back from the message as received, its forgotten_by is
   * derived again when it is processed.
   */
  async resetForEvaluation(row: MessageRow, now: number): Promise<void> {
    const raw = JSON.parse(row.raw) as { item_content?: unknown };
    const itemContent = row.item_type === 'inline' ? (typeof raw.item_content === 'string' ? raw.item_content : row.item_content) : null;
    await this.#db
      .updateTable('messages')
      .set({
        status: 'pending',
        item_content: itemContent,
        content: null,
        // Derived columns are derived again if it is processed again (a rejected message has none).
        ...NO_DERIVED_COLUMNS,
        post_last_amend: null,
        post_last_updated: null,
        forgotten_by: null,
        error_code: null,
        error_details: null,
        waiting_for: null,
        retries: 0,
        next_attempt: now,
        retry_at: 0,
      })
      .where('item_hash', '=', row.item_hash)
      .execute();
    await this.#db.deleteFrom('message_tags').where('item_hash', '=', row.item_hash).execute();
    await this.#db.deleteFrom('message_refs').where('item_hash', '=', row.item_hash).execute();
  }
}
