/**
 * Payments (issue 14), written for SQLite and PostgreSQL alike through Kysely's schema builder:
 * - `message_costs`: the cost of each processed PROGRAM/INSTANCE/STORE as computed at processing
 *   (pyaleph's `account_costs`), decimal strings; `charged` = the payment is enforced (not free
 *   before the cutoff, not a small STORE, not a stream the CRN checks);
 * - `credit_events`: every credit movement an ALEPH_CREDIT post states (distribution, expense,
 *   transfer out and in), one row per entry, with its lot expiration; the credit state is the
 *   replay of these rows and `credit_consumption` in the total order (payments/credits.ts);
 * - `credit_consumption`: credits consumed by a running credit-paid message, one row per payment
 *   period boundary (aligned on unix time), so every CCN records the same rows;
 * - `flow_reports`: every flow rate an `aleph-flows-update` states (the history); the current rate
 *   of a (chain, sender, receiver) flow is the report with the greatest (time, item_hash, idx);
 * - `message_removals`: why and since when a message is `removing`, its deadline, and when it
 *   was `removed`.
 */
import type { Kysely, Migration } from 'kysely';

export const migration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('message_costs')
      .addColumn('item_hash', 'text', (c) => c.primaryKey())
      .addColumn('owner_lc', 'text', (c) => c.notNull())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('payment_type', 'text', (c) => c.notNull())
      .addColumn('charged', 'integer', (c) => c.notNull())
      .addColumn('hold', 'text', (c) => c.notNull())
      .addColumn('stream_per_second', 'text', (c) => c.notNull())
      .addColumn('credit_per_second', 'text', (c) => c.notNull())
      .addColumn('time', 'double precision', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('message_costs_owner').on('message_costs').columns(['owner_lc', 'payment_type']).execute();

    await db.schema
      .createTable('credit_events')
      .addColumn('item_hash', 'text', (c) => c.notNull())
      .addColumn('idx', 'integer', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('address_lc', 'text', (c) => c.notNull())
      .addColumn('amount', 'double precision', (c) => c.notNull())
      .addColumn('time', 'double precision', (c) => c.notNull())
      .addColumn('expiration', 'double precision')
      .addColumn('details', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('credit_events_pk', ['item_hash', 'idx', 'kind'])
      .execute();
    await db.schema.createIndex('credit_events_address').on('credit_events').column('address_lc').execute();

    await db.schema
      .createTable('credit_consumption')
      .addColumn('item_hash', 'text', (c) => c.notNull())
      .addColumn('boundary', 'double precision', (c) => c.notNull())
      .addColumn('address_lc', 'text', (c) => c.notNull())
      .addColumn('amount', 'double precision', (c) => c.notNull())
      .addColumn('cumulative', 'double precision', (c) => c.notNull())
      .addPrimaryKeyConstraint('credit_consumption_pk', ['item_hash', 'boundary'])
      .execute();
    await db.schema.createIndex('credit_consumption_address').on('credit_consumption').column('address_lc').execute();

    await db.schema
      .createTable('flow_reports')
      .addColumn('item_hash', 'text', (c) => c.notNull())
      .addColumn('idx', 'integer', (c) => c.notNull())
      .addColumn('chain', 'text', (c) => c.notNull())
      .addColumn('sender_lc', 'text', (c) => c.notNull())
      .addColumn('receiver_lc', 'text', (c) => c.notNull())
      .addColumn('rate_per_hour', 'text', (c) => c.notNull())
      .addColumn('time', 'double precision', (c) => c.notNull())
      .addPrimaryKeyConstraint('flow_reports_pk', ['item_hash', 'idx'])
      .execute();
    await db.schema.createIndex('flow_reports_sender').on('flow_reports').column('sender_lc').execute();
    await db.schema.createIndex('flow_reports_receiver').on('flow_reports').column('receiver_lc').execute();

    await db.schema
      .createTable('message_removals')
      .addColumn('item_hash', 'text', (c) => c.primaryKey())
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('removing_since', 'double precision', (c) => c.notNull())
      .addColumn('removing_at', 'double precision', (c) => c.notNull())
      .addColumn('removed_at', 'double precision')
      .execute();
  },
};
