/** Placements of persistent workloads and probes of the nodes (scheduler and monitor). */
import type { Kysely, Migration } from 'kysely';

export const migration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('allocations')
      .addColumn('item_hash', 'text', (c) => c.primaryKey())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('crn_hash', 'text')
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('previous_crn_hash', 'text')
      .addColumn('decided_at', 'double precision', (c) => c.notNull())
      .addColumn('push_status', 'text')
      .execute();
    await db.schema.createIndex('allocations_crn').on('allocations').column('crn_hash').execute();
    await db.schema
      .createTable('node_probes')
      .addColumn('node_hash', 'text', (c) => c.notNull())
      .addColumn('check', 'text', (c) => c.notNull())
      .addColumn('time', 'double precision', (c) => c.notNull())
      .addColumn('latency', 'double precision')
      .addColumn('ok', 'integer', (c) => c.notNull())
      .addColumn('version', 'text')
      .addColumn('error', 'text')
      .addColumn('url', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('node_probes_node_time').on('node_probes').columns(['node_hash', 'time']).execute();
    await db.schema.createIndex('node_probes_time').on('node_probes').column('time').execute();
  },
};
