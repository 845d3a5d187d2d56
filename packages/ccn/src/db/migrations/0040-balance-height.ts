/**
 * `balances.height` holds the height an indexer reports (`main_height`, up to 2^53 by the post's
 * schema), but 0001 made it a 32-bit `integer` on PostgreSQL: a report above 2^31 (a devnet's
 * oracle reports unix milliseconds; some chains' slots will pass it) failed to apply there, and the
 * post stayed pending. `double precision`, as `balance_reports.height` already is, holds every
 * such value exactly and reads back as a number (a `bigint` would read back as a string). SQLite's
 * INTEGER is already 64-bit: nothing to do there.
 */
import { PostgresAdapter, sql, type Kysely, type Migration } from 'kysely';

export const migration: Migration = {
  async up(db: Kysely<unknown>) {
    if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return;
    await sql`ALTER TABLE balances ALTER COLUMN height TYPE double precision`.execute(db);
  },
};
