/** Messages, tags, refs, aggregates, files, pins and balances (the first schema). */
import type { Kysely, Migration } from 'kysely';

export const migration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('messages')
      .addColumn('item_hash', 'text', (c) => c.primaryKey())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('chain', 'text', (c) => c.notNull())
      .addColumn('sender', 'text', (c) => c.notNull())
      .addColumn('sender_lc', 'text', (c) => c.notNull())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('channel', 'text')
      .addColumn('time', 'double precision', (c) => c.notNull())
      .addColumn('item_type', 'text', (c) => c.notNull())
      .addColumn('item_content', 'text')
      .addColumn('signature', 'text', (c) => c.notNull())
      .addColumn('content', 'text')
      .addColumn('content_time', 'double precision')
      .addColumn('size', 'integer')
      .addColumn('owner_lc', 'text')
      .addColumn('content_type', 'text')
      .addColumn('content_ref', 'text')
      .addColumn('content_key', 'text')
      .addColumn('content_item_hash', 'text')
      .addColumn('payment_type', 'text')
      .addColumn('tags', 'text', (c) => c.notNull().defaultTo('[]'))
      .addColumn('reception_time', 'double precision', (c) => c.notNull())
      .addColumn('raw', 'text', (c) => c.notNull())
      .addColumn('error_code', 'integer')
      .addColumn('error_details', 'text')
      .addColumn('forgotten_by', 'text')
      .addColumn('retries', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('next_attempt', 'double precision', (c) => c.notNull().defaultTo(0))
      .addColumn('retry_at', 'double precision', (c) => c.notNull().defaultTo(0))
      .addColumn('post_last_amend', 'text')
      .addColumn('post_last_updated', 'double precision')
      .execute();
    await db.schema.createIndex('messages_status_time').on('messages').columns(['status', 'time', 'item_hash']).execute();
    await db.schema.createIndex('messages_sender').on('messages').column('sender_lc').execute();
    await db.schema.createIndex('messages_owner').on('messages').column('owner_lc').execute();
    await db.schema.createIndex('messages_ref').on('messages').column('content_ref').execute();
    await db.schema.createIndex('messages_type').on('messages').columns(['type', 'content_type']).execute();
    await db.schema.createIndex('messages_content_item_hash').on('messages').column('content_item_hash').execute();
    await db.schema.createIndex('messages_pending').on('messages').columns(['status', 'next_attempt']).execute();

    await db.schema
      .createTable('message_tags')
      .addColumn('item_hash', 'text', (c) => c.notNull())
      .addColumn('tag', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('message_tags_pk', ['item_hash', 'tag'])
      .execute();
    await db.schema.createIndex('message_tags_tag').on('message_tags').column('tag').execute();
    await db.schema
      .createTable('message_refs')
      .addColumn('item_hash', 'text', (c) => c.notNull())
      .addColumn('ref', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('message_refs_pk', ['item_hash', 'ref'])
      .execute();
    await db.schema.createIndex('message_refs_ref').on('message_refs').column('ref').execute();

    await db.schema
      .createTable('aggregate_elements')
      .addColumn('item_hash', 'text', (c) => c.primaryKey())
      .addColumn('owner_lc', 'text', (c) => c.notNull())
      .addColumn('key', 'text', (c) => c.notNull())
      .addColumn('time', 'double precision', (c) => c.notNull())
      .addColumn('content', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('aggregate_elements_owner_key').on('aggregate_elements').columns(['owner_lc', 'key', 'time']).execute();

    await db.schema
      .createTable('files')
      .addColumn('hash', 'text', (c) => c.primaryKey())
      .addColumn('engine', 'text', (c) => c.notNull())
      .addColumn('size', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'double precision', (c) => c.notNull())
      .addColumn('grace_until', 'double precision')
      .execute();
    await db.schema
      .createTable('file_pins')
      .addColumn('file_hash', 'text', (c) => c.notNull())
      .addColumn('item_hash', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('file_pins_pk', ['file_hash', 'item_hash'])
      .execute();

    await db.schema
      .createTable('balances')
      .addColumn('address_lc', 'text', (c) => c.notNull())
      .addColumn('chain', 'text', (c) => c.notNull())
      .addColumn('dapp', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('balance', 'double precision', (c) => c.notNull())
      .addColumn('height', 'integer', (c) => c.notNull().defaultTo(0))
      .addPrimaryKeyConstraint('balances_pk', ['address_lc', 'chain', 'dapp'])
      .execute();
  },
};
