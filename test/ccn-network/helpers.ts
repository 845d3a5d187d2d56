/**
 * Several real CCN processes that sync over HTTP (the `syncPeers` setting, no P2P): fixed free
 * ports chosen up front so each node can name the others before they start, own data dirs kept
 * across restarts, and the reads the sync tests compare.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildInlineMessage, type AlephMessage, type EthAccount } from '@aleph-nodes/protocol';
import { startCcnProcess, type CcnProcess, type CcnSettings } from '../ccn/helpers/ccn-process.ts';
import { getJson } from '../helpers/eventually.ts';
import { freePort } from '../helpers/net.ts';

/** Settings of the sync tests: fast rounds and back-offs, nothing else publishing messages. */
export const SYNC_TEST_SETTINGS: CcnSettings = {
  syncIntervalSeconds: 0.5,
  syncRequestTimeoutSeconds: 3,
  syncBackoffBaseSeconds: 0.2,
  syncBackoffMaxSeconds: 2,
  scoringEnabled: false,
  retryBaseMs: 50,
  retryMaxMs: 500,
  maxRetries: 30,
};

export interface NetNode {
  url: string;
  port: number;
  dataDir: string;
  proc: CcnProcess | undefined;
  start(settings?: CcnSettings): Promise<CcnProcess>;
  stop(): Promise<void>;
  /** Stops it and removes its data dir. */
  dispose(): Promise<void>;
}

export async function netNode(base: CcnSettings = {}): Promise<NetNode> {
  const port = await freePort('127.0.0.1');
  const dataDir = mkdtempSync(join(tmpdir(), 'ccn-net-'));
  const node: NetNode = {
    url: `http://127.0.0.1:${port}`,
    port,
    dataDir,
    proc: undefined,
    async start(settings = {}) {
      node.proc = await startCcnProcess({ ...SYNC_TEST_SETTINGS, ...base, ...settings, port }, dataDir);
      return node.proc;
    },
    async stop() {
      await node.proc?.stop();
      node.proc = undefined;
    },
    async dispose() {
      if (node.proc) {
        // A frozen process would never see SIGTERM.
        node.proc.signal('SIGCONT');
        await node.proc.kill();
      }
      node.proc = undefined;
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return node;
}

export function posts(account: EthAccount, channel: string, count: number, tag: string): AlephMessage[] {
  const t0 = Math.floor(Date.now() / 1000) - 3600;
  return Array.from({ length: count }, (_, i) => buildInlineMessage(account, 'POST', { type: 'sync-test', content: { tag, i } }, { channel, time: t0 + i / 1000 + Math.random() }));
}

export async function submit(url: string, message: unknown, sync = false): Promise<number> {
  const res = await fetch(`${url}/api/v0/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sync, message }) });
  await res.arrayBuffer();
  return res.status;
}

/** Submits all, a few at a time. */
export async function submitAll(url: string, messages: readonly unknown[], concurrency = 8): Promise<void> {
  const queue = [...messages];
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let m = queue.shift(); m !== undefined; m = queue.shift()) {
        const status = await submit(url, m);
        if (status !== 202 && status !== 200) throw new Error(`submission answered ${status}`);
      }
    }),
  );
}

/** item_hash → status of every message of `channel` on the node (the public API, not the sync routes). */
export async function statuses(url: string, channel: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (let page = 1; ; page++) {
    const body = await getJson<{ hashes: { item_hash: string; status: string }[] }>(
      `${url}/api/v0/messages/hashes?hashOnly=false&channels=${channel}&pagination=500&page=${page}&msgStatuses=pending,processed,rejected,forgotten,removing,removed`,
    );
    for (const h of body.hashes) out.set(h.item_hash, h.status);
    if (body.hashes.length < 500) return out;
  }
}

export interface PeerView {
  url: string;
  cursor: number;
  peer_last_seq: number;
  lag: number;
  score: number;
  banned: boolean;
  messages: number;
  batches: number;
  pages: number;
  bytes: number;
  duplicates: number;
  offences: Record<string, number>;
  last_error: string | null;
}

export interface SyncView {
  last_seq: number;
  peers: PeerView[];
  files: { fetched: number; mismatches: number; wanted: number; too_large: number; failures: number; evicted: number };
}

export const syncStatus = (url: string): Promise<SyncView> => getJson<SyncView>(`${url}/api/v0/sync/status`);

export function peerOf(view: SyncView, url: string): PeerView {
  const peer = view.peers.find((p) => p.url === url);
  if (!peer) throw new Error(`no peer ${url} in ${JSON.stringify(view.peers.map((p) => p.url))}`);
  return peer;
}

export function sameMaps(a: Map<string, string>, b: Map<string, string>): boolean {
  return a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);
}
