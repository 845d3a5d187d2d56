/**
 * The node database: one Kysely schema and query layer over SQLite (embedded, the default: a file
 * in the data dir, WAL, synchronous=FULL so that an answered message survives a power cut) and
 * PostgreSQL (`postgres://` URL). Migrations are ordered and recorded by Kysely's migrator.
 */
import Database from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql, type MigrationProvider } from 'kysely';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import pg from 'pg';
import { MIGRATIONS } from './migrations/index.ts';
import type { Tables } from './schema.ts';

export type Db = Kysely<Tables>;
export type DbEngine = 'sqlite' | 'postgres';

export interface DatabaseHandle {
  db: Db;
  engine: DbEngine;
  close(): Promise<void>;
}

export type DatabaseTarget =
  | { engine: 'sqlite'; path: string }
  /** `schema` isolates a node (or a test run) inside a shared database. */
  | { engine: 'postgres'; url: string; schema: string };

const provider: MigrationProvider = {
  getMigrations: () => Promise.resolve(MIGRATIONS),
};

function quoteIdent(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`invalid PostgreSQL schema name: ${name}`);
  return `"${name}"`;
}

export async function openDatabase(target: DatabaseTarget): Promise<DatabaseHandle> {
  let db: Db;
  if (target.engine === 'sqlite') {
    if (target.path !== ':memory:') mkdirSync(dirname(target.path), { recursive: true });
    const sqlite = new Database(target.path);
    sqlite.pragma('journal_mode = WAL');
    // FULL: a commit is on disk before the answer that reports it. The message worker's background
    // commits switch to NORMAL in turns (commit-durability.ts): they survive kill -9 and are synced
    // by the next FULL commit.
    sqlite.pragma('synchronous = FULL');
    sqlite.pragma('busy_timeout = 5000');
    db = new Kysely<Tables>({ dialect: new SqliteDialect({ database: sqlite }) });
  } else {
    const schema = quoteIdent(target.schema);
    const bootstrap = new pg.Client({ connectionString: target.url });
    await bootstrap.connect();
    try {
      await bootstrap.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    } finally {
      await bootstrap.end();
    }
    const pool = new pg.Pool({ connectionString: target.url, max: 10, options: `-c search_path=${schema}` });
    db = new Kysely<Tables>({ dialect: new PostgresDialect({ pool }) });
  }
  // PostgreSQL: the migration tables are looked up in this node's schema. Without it Kysely
  // takes a `kysely_migration_lock` table of ANY schema of the database as ours (another node or
  // test run sharing the database), skips creating it, and the migration fails.
  const migrator = new Migrator({ db, provider, ...(target.engine === 'postgres' ? { migrationTableSchema: target.schema } : {}) });
  const { error } = await migrator.migrateToLatest();
  if (error) {
    await db.destroy();
    throw error instanceof Error ? error : new Error(String(error));
  }
  return { db, engine: target.engine, close: () => db.destroy() };
}

/** Drops a PostgreSQL schema (test clean-up). */
export async function dropPostgresSchema(url: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
  } finally {
    await client.end();
  }
}

/** COUNT(*) comes back as a string from PostgreSQL (bigint) and a number from SQLite. */
export function countOf(row: { n: string | number | bigint } | undefined): number {
  return row ? Number(row.n) : 0;
}

export { sql };
