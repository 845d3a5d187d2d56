/**
 * Two CCN processes on loopback for the network scenario: A alone first, B started (and stopped,
 * and restarted on the same data dir) later, B naming A as its bootstrap and sync peer. Plus the
 * reads the scenario times with: a message WebSocket per node and a processed-message count.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Pool, WebSocket } from 'undici';
import { buildInlineMessage, EthAccount, type AlephMessage } from '@aleph-nodes/protocol';
import { startChildNode, type ChildNode } from '../../common/child-node.ts';
import { nowMs } from '../stats.ts';
import type { BenchContext } from './context.ts';

/** A node of the pair: started again on its own config (same data dir, same key, same cursor). */
export interface PairNode {
  label: string;
  node: ChildNode | undefined;
  start(): Promise<ChildNode>;
  stop(): Promise<void>;
}

export function pairNode(ctx: BenchContext, dir: string, label: string, settings: Record<string, unknown>): PairNode {
  const dataDir = join(dir, label);
  mkdirSync(dataDir, { recursive: true });
  const config = join(dir, `${label}.json`);
  // Sync rounds and peering at their defaults: the figures are the product as configured.
  writeFileSync(config, JSON.stringify({ host: '127.0.0.1', port: 0, p2pPort: 0, dataDir, logLevel: 'info', ...settings }));
  const self: PairNode = {
    label,
    node: undefined,
    async start() {
      self.node = await startChildNode({ kind: 'ccn', label: `bench-${label}`, args: ['--config', config], logFile: join(dir, `${label}.log`), binDir: ctx.binDir, readyTimeoutMs: 60_000 });
      return self.node;
    },
    async stop() {
      await self.node?.stop();
      self.node = undefined;
    },
  };
  return self;
}

interface PeersView {
  peer_id: string | null;
  listen: string[];
  subscribers?: string[];
}

export async function peersOf(url: string): Promise<PeersView> {
  const res = await fetch(`${url}/api/v0/p2p/peers`, { signal: AbortSignal.timeout(10_000) });
  if (res.status !== 200) throw new Error(`${url}/api/v0/p2p/peers answered ${res.status}`);
  return (await res.json()) as PeersView;
}

/** True once each node knows the other is on the message topic (gossip can flow both ways). */
export async function meshed(a: string, b: string): Promise<boolean> {
  const [va, vb] = await Promise.all([peersOf(a), peersOf(b)]);
  return vb.peer_id !== null && va.peer_id !== null && (va.subscribers ?? []).includes(vb.peer_id) && (vb.subscribers ?? []).includes(va.peer_id);
}

/** Polls `check` every `intervalMs` until it is true; fails after `timeoutMs` (a stuck run, not a figure). */
export async function until(what: string, timeoutMs: number, check: () => Promise<boolean>, intervalMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Processed messages of `channel` on the node (the count of the public message list). */
export async function processedCount(url: string, channel: string): Promise<number> {
  const res = await fetch(`${url}/api/v0/messages.json?channels=${channel}&pagination=1`, { signal: AbortSignal.timeout(10_000) });
  if (res.status !== 200) throw new Error(`${url}/api/v0/messages.json answered ${res.status}`);
  return ((await res.json()) as { pagination_total: number }).pagination_total;
}

/**
 * The node's message WebSocket for one channel: the time each item hash was pushed (processed),
 * and a wait for a given hash or count.
 */
export interface Watch {
  arrivals: Map<string, number>;
  /** Resolves with the arrival time of `hash` (at once if it already came). */
  arrival(hash: string, timeoutMs: number): Promise<number>;
  /** Resolves once `count` messages came. */
  count(count: number, timeoutMs: number): Promise<number>;
  close(): void;
}

export async function watch(url: string, channel: string): Promise<Watch> {
  const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/api/ws0/messages?channels=${channel}&history=0`);
  const arrivals = new Map<string, number>();
  const waiters = new Set<() => void>();
  socket.addEventListener('message', (event) => {
    const at = nowMs();
    const hash = (JSON.parse(String(event.data)) as { item_hash?: string }).item_hash;
    if (hash && !arrivals.has(hash)) arrivals.set(hash, at);
    for (const w of waiters) w();
  });
  await new Promise<void>((resolve, reject) => {
    socket.addEventListener('open', () => resolve(), { once: true });
    socket.addEventListener('error', () => reject(new Error(`cannot open the message WebSocket of ${url}`)), { once: true });
  });
  const waitFor = <T>(ready: () => T | undefined, timeoutMs: number, what: string): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const check = (): void => {
        const value = ready();
        if (value === undefined) return;
        waiters.delete(check);
        clearTimeout(timer);
        resolve(value);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`${what} did not reach ${url}'s WebSocket within ${timeoutMs / 1000} s (${arrivals.size} came)`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });
  return {
    arrivals,
    arrival: (hash, timeoutMs) => waitFor(() => arrivals.get(hash), timeoutMs, `message ${hash}`),
    count: (count, timeoutMs) => waitFor(() => (arrivals.size >= count ? nowMs() : undefined), timeoutMs, `${count} messages`),
    close: () => socket.close(),
  };
}

/** Signed POSTs of one channel, built before any clock starts (signing is the client's cost). */
export function benchPosts(channel: string, count: number): AlephMessage[] {
  const account = EthAccount.generate();
  const base = Date.now() / 1000;
  return Array.from({ length: count }, (_, i) => buildInlineMessage(account, 'POST', { type: 'bench-net', content: { i, pad: 'x'.repeat(64) } }, { channel, time: base + i / 1000 }));
}

/** POSTs one message (sync: false); resolves when the answer is read; fails on anything but 200/202. */
export async function post(pool: Pool, message: AlephMessage): Promise<void> {
  const res = await pool.request({ path: '/api/v0/messages', method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sync: false, message }) });
  await res.body.dump();
  if (res.statusCode !== 200 && res.statusCode !== 202) throw new Error(`a submission answered ${res.statusCode}`);
}

/** Submits every message with `concurrency` in flight (as the ingest scenario does). */
export async function postAll(url: string, messages: readonly AlephMessage[], concurrency: number): Promise<void> {
  const pool = new Pool(url, { connections: concurrency });
  let next = 0;
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < messages.length) await post(pool, messages[next++] as AlephMessage);
      }),
    );
  } finally {
    await pool.close();
  }
}
