/**
 * Boots a real CCN process on an ephemeral port with a temporary data directory, and tears it
 * down (process and directory) when the test ends.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const ENTRY = join(ROOT, 'packages/ccn/src/main.ts');

export interface CcnProcess {
  url: string;
  /** The node key's address (the default registry address). */
  address: string;
  dataDir: string;
  child: ChildProcess;
  /** Log lines seen so far (JSON objects). */
  logs: Record<string, unknown>[];
  /** SIGTERM, wait for the exit, remove the data dir unless the caller owns it. */
  stop(): Promise<void>;
  /** SIGKILL: no clean-up at all (crash tests); the data dir stays. */
  kill(): Promise<void>;
}

/** Settings written to the JSON config file the entry reads. */
export type CcnSettings = Record<string, string | number | boolean | string[]>;

/** Starts `packages/ccn/src/main.ts` with a JSON config; fast retries so dependency tests settle quickly. */
export async function startCcnProcess(settings: CcnSettings = {}, dataDir?: string): Promise<CcnProcess> {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'ccn-test-'));
  const configFile = join(dir, `config-${process.pid}-${Date.now()}.json`);
  writeFileSync(
    configFile,
    // P2P on an ephemeral port: a test node never takes the real 4025 (nor collides with another test's).
    JSON.stringify({ dataDir: dir, port: 0, p2pPort: 0, host: '127.0.0.1', retryBaseMs: 20, retryMaxMs: 100, logLevel: 'info', paymentChecks: false, ...settings }),
  );
  // The node reads the file; CCN_* variables of the developer's shell must not leak in.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CCN_')));
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, configFile], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const ready = new Promise<{ url: string; address: string }>((resolve, reject) => {
    let buffer = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      let nl;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        try {
          const entry = JSON.parse(line) as Record<string, unknown>;
          logs.push(entry);
          if (entry.msg === 'ccn listening') resolve({ url: String(entry.url), address: String(entry.address) });
        } catch {
          // not a log line
        }
      }
    });
    child.once('exit', (code) => reject(new Error(`ccn exited with ${code} before listening: ${stderr}`)));
  });
  let exited = false;
  const exitedPromise = new Promise<void>((resolve) => child.once('exit', () => {
    exited = true;
    resolve();
  }));
  const stop = async (): Promise<void> => {
    if (!exited) {
      child.kill('SIGTERM');
      await exitedPromise;
    }
    if (!dataDir) rmSync(dir, { recursive: true, force: true });
  };
  const kill = async (): Promise<void> => {
    if (!exited) {
      child.kill('SIGKILL');
      await exitedPromise;
    }
  };
  try {
    const { url, address } = await ready;
    return { url, address, dataDir: dir, child, logs, stop, kill };
  } catch (err) {
    await stop();
    throw err;
  }
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
