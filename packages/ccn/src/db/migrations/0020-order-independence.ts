/**
 * Order-independent derived state:
 * - `messages.waiting_for`: what a pending or rejected message waits for (a message hash, a file
 *   hash, `aggregate:<owner>:<key>` or `security:<owner>`); a rejected message with one is
 *   evaluated again when that dependency settles, so a dependency that comes late never leaves one
 *   node rejected where another processed the same messages;
 * - `message_watch`: for a rejected message, what its verdict was judged on (the messages it
 *   names, the `security` aggregates of the owners involved, a FORGET's aggregate keys): when
 *   one of them changes, the message is evaluated again;
 * - `forget_targets`: every target a FORGET names (message hashes and `aggregate:<owner>:<key>`),
 *   recorded when the FORGET is first read, so that a target arriving after its FORGET is
 *   forgotten on arrival (the same end state as target-then-FORGET);
 * - `retired_security_elements`: elements of `security` aggregates that were forgotten, with the
 *   position of the first FORGET that forgot them: a forgotten grant counts for the messages
 *   before that FORGET in the total order and not after (permissions.ts), so that a FORGET never
 *   changes the verdict of what came before it;
 * - `balance_reports`: every balance an indexer post reports; `balances` holds, per (address,
 *   chain, dapp), the report that wins by (height, content time, item_hash), recomputed when a
 *   report is added or forgotten.
 */
import type { Kysely, Migration } from 'kysely';

export const migration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('messages').addColumn('waiting_for', 'text').execute();
    await db.schema.createIndex('messages_waiting_for').on('messages').column('waiting_for').execute();
    await db.schema.createIndex('messages_order').on('messages').columns(['content_time', 'item_hash']).execute();

    await db.schema
      .createTable('forget_targets')
      .addColumn('forget_hash', 'text', (c) => c.notNull())
      .addColumn('target', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('forget_targets_pk', ['forget_hash', 'target'])
      .execute();
    await db.schema.createIndex('forget_targets_target').on('forget_targets').column('target').execute();

    await db.schema
      .createTable('message_watch')
      .addColumn('item_hash', 'text', (c) => c.notNull())
      .addColumn('key', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('message_watch_pk', ['item_hash', 'key'])
      .execute();
    await db.schema.createIndex('message_watch_key').on('message_watch').column('key').execute();

    await db.schema
      .createTable('retired_security_elements')
      .addColumn('item_hash', 'text', (c) => c.primaryKey())
      .addColumn('owner_lc', 'text', (c) => c.notNull())
      .addColumn('time', 'double precision', (c) => c.notNull())
      .addColumn('content', 'text', (c) => c.notNull())
      .addColumn('retired_time', 'double precision', (c) => c.notNull())
      .addColumn('retired_hash', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('retired_security_elements_owner').on('retired_security_elements').columns(['owner_lc', 'time']).execute();

    await db.schema
      .createTable('balance_reports')
      .addColumn('item_hash', 'text', (c) => c.notNull())
      .addColumn('address_lc', 'text', (c) => c.notNull())
      .addColumn('chain', 'text', (c) => c.notNull())
      .addColumn('dapp', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('height', 'double precision', (c) => c.notNull().defaultTo(0))
      .addColumn('time', 'double precision', (c) => c.notNull())
      .addColumn('balance', 'double precision', (c) => c.notNull())
      .addPrimaryKeyConstraint('balance_reports_pk', ['item_hash', 'address_lc', 'chain', 'dapp'])
      .execute();
    await db.schema.createIndex('balance_reports_key').on('balance_reports').columns(['address_lc', 'chain', 'dapp']).execute();
  },
};
