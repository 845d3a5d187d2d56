/**
 * A real CCN process on an ephemeral port with a temporary data directory (the kit's node
 * spawner, test/kit), torn down (process and directory) when the test ends; plus PostgreSQL
 * schemas for the tests that run on it.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { startNodeProcess, type NodeProcess } from '../../kit/node-process.ts';

export type CcnProcess = NodeProcess;

/** Settings written to the JSON config file the node reads. */
export type CcnSettings = Record<string, string | number | boolean | string[]>;

/** Starts `ccn start` with a JSON config; fast retries so dependency tests settle quickly. */
export function startCcnProcess(settings: CcnSettings = {}, dataDir?: string): Promise<CcnProcess> {
  return startNodeProcess('ccn', settings, dataDir ? { dataDir } : {});
}

export const TEST_PG_URL = process.env.CCN_TEST_PG_URL ?? 'postgres://aleph:aleph@127.0.0.1:5432/aleph_test';

/** Settings that put a node on a fresh PostgreSQL schema, and the clean-up that drops it. */
export function postgresSettings(): { settings: CcnSettings; drop(): Promise<void> } {
  const schema = `ccn_it_${randomBytes(6).toString('hex')}`;
  return {
    settings: { db: TEST_PG_URL, pgSchema: schema },
    async drop() {
      const client = new pg.Client({ connectionString: TEST_PG_URL });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}
