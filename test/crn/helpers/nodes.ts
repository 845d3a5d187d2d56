/**
 * A real CCN and a real CRN (process executor) in this test process, on ephemeral ports with
 * temporary data directories, plus the official SDK to publish programs. Everything is torn
 * down by `close()`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuthenticatedAlephHttpClient } from '@aleph-sdk/client';
import { importAccountFromPrivateKey } from '@aleph-sdk/ethereum';
import { ItemType } from '@aleph-sdk/message';
import { ccnConfig, startCcn, type CcnNode } from '@aleph-nodes/ccn';
import { startCrn, type CrnConfig, type RunningCrn } from '@aleph-nodes/crn';
import { silentLogger } from '@aleph-nodes/service';
import { makeZip } from '../../../packages/crn/src/testing/zip.ts';

// The public Hardhat/Anvil test keys #0 and #1: never used for anything of value.
export const OWNER_KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';
export const OTHER_KEY = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d';

/** A program answering JSON about each request (path, method, body, boot id, variables). */
export const ECHO_PROGRAM = `
import http from 'node:http';
import { randomUUID } from 'node:crypto';
// Identifies this start of the program (pids repeat in a fresh pid namespace).
const boot = randomUUID();
console.log('echo program starting', boot);
http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    if (req.url === '/crash') { console.error('crash requested'); process.exit(7); }
    if (req.url === '/not-found') { res.writeHead(404, { 'content-type': 'text/plain' }); return res.end('program 404'); }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ path: req.url, method: req.method, boot, foo: process.env.FOO ?? null, host: req.headers.host, bodyLength: Buffer.concat(chunks).length }));
  });
}).listen(8080, '0.0.0.0');
`;

/** Counts the `aleph.message` events it receives; GET /events lists their item hashes. */
export const TRIGGERED_PROGRAM = `
import http from 'node:http';
const events = [];
http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    if (req.method === 'POST' && req.headers['x-aleph-scope'] === 'aleph.message') events.push(JSON.parse(Buffer.concat(chunks).toString()).item_hash);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ events }));
  });
}).listen(8080, '0.0.0.0');
`;

export const CRASHING_PROGRAM = `
console.error('fatal: missing configuration for the crash test');
process.exit(2);
`;

/** Per-owner caps of on-demand programs lifted (for tests that are not about them). */
export const UNCAPPED_OWNERS: Partial<CrnConfig> = { ownerOnDemandVcpusShare: 1, ownerOnDemandMemoryShare: 1, ownerOnDemandMaxExecutions: 1000 };

/**
 * The accounts of these tests hold no tokens: payments are not enforced unless a test asks
 * (test/payments/ funds its accounts through the CCN's balance oracle and turns them on).
 */
export const UNPAID_ALLOWED: Partial<CrnConfig> = { enforcePayments: false };

export interface PublishOptions {
  variables?: Record<string, string>;
  persistent?: boolean;
  memory?: number;
  subscriptions?: Record<string, unknown>[];
}

export interface Nodes {
  ccn: CcnNode;
  crn: RunningCrn;
  crnDataDir: string;
  client: AuthenticatedAlephHttpClient;
  publishProgram(source: string, opts?: PublishOptions): Promise<string>;
  close(): Promise<void>;
}

export async function startCcnForCrn(): Promise<{ ccn: CcnNode; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'crn-test-ccn-'));
  const ccn = await startCcn(ccnConfig({ dataDir: dir, port: 0, p2pPort: 0, logLevel: 'silent', paymentChecks: false }), { logger: silentLogger() });
  return { ccn, dir };
}

export async function publishWith(client: AuthenticatedAlephHttpClient, runtime: string, source: string, opts: PublishOptions = {}): Promise<string> {
  const zip = makeZip([{ name: 'main.mjs', data: source, deflate: true }]);
  const program = await client.createProgram({
    file: new Blob([zip]),
    entrypoint: 'main.mjs',
    runtime,
    storageEngine: ItemType.storage,
    channel: 'TEST',
    variables: opts.variables ?? {},
    isPersistent: opts.persistent ?? false,
    memory: opts.memory ?? 128,
    ...(opts.subscriptions ? { subscriptions: opts.subscriptions } : {}),
    sync: true,
  });
  return program.item_hash;
}

export async function createRuntime(client: AuthenticatedAlephHttpClient): Promise<string> {
  // The process executor runs on the host; the runtime STORE only has to exist on the CCN.
  const runtime = await client.createStore({ fileObject: new Blob([new TextEncoder().encode('runtime stand-in')]), storageEngine: ItemType.storage, channel: 'TEST', sync: true });
  return runtime.item_hash;
}

export async function startNodes(crnOverrides: Partial<CrnConfig> = {}): Promise<Nodes> {
  const { ccn, dir: ccnDir } = await startCcnForCrn();
  const crnDataDir = mkdtempSync(join(tmpdir(), 'crn-test-crn-'));
  let crn: RunningCrn;
  try {
    // Tests run several small programs of one owner at once on 2-core machines: hand out more
    // vCPUs, and lift the per-owner caps of on-demand programs (test/security tests them).
    crn = await startCrn(
      { executor: 'process', dataDir: crnDataDir, ccn: ccn.url, port: 0, logLevel: 'silent', messageWatch: true, capacityVcpus: 32, ...UNCAPPED_OWNERS, ...UNPAID_ALLOWED, ...crnOverrides } as CrnConfig,
      { logger: silentLogger() },
    );
  } catch (err) {
    await ccn.close();
    rmSync(ccnDir, { recursive: true, force: true });
    rmSync(crnDataDir, { recursive: true, force: true });
    throw err;
  }
  const client = new AuthenticatedAlephHttpClient(importAccountFromPrivateKey(OWNER_KEY), ccn.url);
  const runtime = await createRuntime(client);
  let closing: Promise<void> | undefined;
  return {
    ccn,
    crn,
    crnDataDir,
    client,
    publishProgram: (source, opts) => publishWith(client, runtime, source, opts),
    close() {
      closing ??= (async () => {
        await crn.close({ stopPersistent: true });
        await ccn.close();
        rmSync(crnDataDir, { recursive: true, force: true });
        rmSync(ccnDir, { recursive: true, force: true });
      })();
      return closing;
    },
  };
}
