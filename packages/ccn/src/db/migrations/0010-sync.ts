/**
 * Anti-entropy (sync/): the local sequence number peers page through, the per-peer cursors and
 * the files fetched from peers.
 *
 * `messages.seq` is stamped by the database, once, when a row first reaches a status a peer can
 * use (processed, removing, removed, forgotten), whatever code path writes it. Stamping at first
 * insert instead would break the cursor: a message stored pending at seq 5 and processed after
 * seq 6 would be passed by a peer that paged while it was pending, and never listed again. The
 * stamp is taken inside the writer's transaction and the processor is the single writer of
 * statuses, so seq order is commit order: a reader never sees seq n+1 before seq n. A counter
 * (SQLite) or a sequence (PostgreSQL) is used, never max(seq)+1, so a number is never reused.
 */
import { PostgresAdapter, sql, type Kysely, type Migration } from 'kysely';

/** Statuses whose rows appear in the sync pages (the header at least; see sync/repo.ts). */
const SERVABLE = `('processed', 'removing', 'removed', 'forgotten')`;

export const migration: Migration = {
  async up(db: Kysely<unknown>) {
    const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
    await db.schema.alterTable('messages').addColumn('seq', postgres ? 'bigint' : 'integer').execute();
    // Existing rows, in reception order.
    await sql
      .raw(
        `UPDATE messages SET seq = o.n FROM (SELECT item_hash, ROW_NUMBER() OVER (ORDER BY reception_time, item_hash) AS n FROM messages WHERE status IN ${SERVABLE}) AS o WHERE messages.item_hash = o.item_hash`,
      )
      .execute(db);
    await db.schema.createIndex('messages_seq').on('messages').column('seq').unique().execute();
    const last = await sql<{ n: string | number | null }>`SELECT MAX(seq) AS n FROM messages`.execute(db);
    const start = Number(last.rows[0]?.n ?? 0);

    if (postgres) {
      await sql.raw(`CREATE SEQUENCE messages_sync_seq START WITH ${start + 1}`).execute(db);
      await sql
        .raw(
          `CREATE FUNCTION messages_stamp_seq() RETURNS trigger AS $$
BEGIN
  IF NEW.seq IS NULL AND NEW.status IN ${SERVABLE} THEN
    NEW.seq := nextval('messages_sync_seq');
  END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql`,
        )
        .execute(db);
      await sql.raw(`CREATE TRIGGER messages_stamp_seq BEFORE INSERT OR UPDATE OF status ON messages FOR EACH ROW EXECUTE FUNCTION messages_stamp_seq()`).execute(db);
    } else {
      await sql.raw(`CREATE TABLE sync_seq_counter (id INTEGER PRIMARY KEY CHECK (id = 1), last INTEGER NOT NULL)`).execute(db);
      await sql.raw(`INSERT INTO sync_seq_counter (id, last) VALUES (1, ${start})`).execute(db);
      for (const [name, event] of [
        ['messages_stamp_seq_insert', 'INSERT'],
        ['messages_stamp_seq_update', 'UPDATE OF status'],
      ] as const) {
        await sql
          .raw(
            `CREATE TRIGGER ${name} AFTER ${event} ON messages FOR EACH ROW WHEN NEW.seq IS NULL AND NEW.status IN ${SERVABLE}
BEGIN
  UPDATE sync_seq_counter SET last = last + 1 WHERE id = 1;
  UPDATE messages SET seq = (SELECT last FROM sync_seq_counter WHERE id = 1) WHERE item_hash = NEW.item_hash;
END`,
          )
          .execute(db);
      }
    }

    await db.schema
      .createTable('sync_cursors')
      .addColumn('peer_url', 'text', (c) => c.primaryKey())
      // The peer's seq this node has everything up to (inclusive).
      .addColumn('cursor', postgres ? 'bigint' : 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('updated_at', 'double precision', (c) => c.notNull())
      .execute();

    // Files this node fetched from peers (never uploaded here): only these may be evicted when
    // `filesKept` is `referenced`, so that the node a file was uploaded to always keeps it.
    await db.schema
      .createTable('sync_files')
      .addColumn('hash', 'text', (c) => c.primaryKey())
      .addColumn('fetched_at', 'double precision', (c) => c.notNull())
      .addColumn('last_read', 'double precision', (c) => c.notNull())
      .addColumn('evicted', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
  },
};
