/**
 * In-process CCN stores and processors driven by a test clock, fed the same messages in
 * different orders (the order-independence tests). A node is real: the processor, handlers and
 * database of a CCN (SQLite in memory, or a fresh PostgreSQL schema), without the HTTP API.
 */
import type { AlephMessage } from '@aleph-nodes/protocol';
import { silentLogger } from '@aleph-nodes/service';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ccnConfig, type CcnConfig } from '../config.ts';
import { MessageProcessor } from '../processing/processor.ts';
import { openStores, type Stores } from '../stores.ts';
import { openTestStores, type EngineName } from './engines.ts';

export interface OrderNode {
  stores: Stores;
  processor: MessageProcessor;
  config: CcnConfig;
  /** Moves the node's clock forward (retries come due). */
  advance(seconds: number): void;
  dispose(): Promise<void>;
}

/** Retries are few and short so that a test can run them out by moving the clock. */
export async function openOrderNode(engine: EngineName, start: number, overrides: Partial<CcnConfig> = {}): Promise<OrderNode> {
  let stores: Stores;
  let dataDir: string;
  let disposeStores: () => Promise<void>;
  if (engine === 'sqlite') {
    dataDir = mkdtempSync(join(tmpdir(), 'ccn-order-'));
    stores = await openStores(dataDir, { engine: 'sqlite', path: ':memory:' });
    disposeStores = () => stores.close();
  } else {
    const test = await openTestStores('postgres');
    stores = test.stores;
    dataDir = test.dataDir;
    disposeStores = () => test.dispose();
  }
  let now = start;
  const config = ccnConfig({ dataDir, maxRetries: 2, retryBaseMs: 1000, retryMaxMs: 4000, paymentChecks: false, ...overrides });
  const processor = new MessageProcessor(stores, config, silentLogger(), () => now);
  processor.start();
  return {
    stores,
    processor,
    config,
    advance(seconds) {
      now += seconds;
    },
    async dispose() {
      await processor.stop();
      await disposeStores();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export type Arrival =
  | { kind: 'message'; message: AlephMessage }
  | { kind: 'file'; hash: string; bytes: Uint8Array }
  /** Lets the worker process what is due. */
  | { kind: 'settle' }
  /** Time passes: every scheduled retry comes due (a dependency arrives "long after"). */
  | { kind: 'pause' };

export async function receiveFile(node: OrderNode, hash: string, bytes: Uint8Array): Promise<void> {
  const { stores } = node;
  if (!stores.fileStore.has(hash)) stores.fileStore.commit(await stores.fileStore.stageBytes(bytes), hash);
  await stores.files.upsert(hash, 'storage', bytes.length, 0, 0);
  await node.processor.dependencyAvailable();
}

export async function feed(node: OrderNode, arrivals: readonly Arrival[]): Promise<void> {
  for (const a of arrivals) {
    if (a.kind === 'message') await node.processor.submit(a.message, 'sync');
    else if (a.kind === 'file') await receiveFile(node, a.hash, a.bytes);
    else if (a.kind === 'settle') await node.processor.settle();
    else {
      node.advance(3600);
      await node.processor.settle();
    }
  }
}

/** Runs the node until no message is pending (every retry run out), moving the clock as needed. */
export async function quiesce(node: OrderNode, maxRounds = 100): Promise<void> {
  for (let i = 0; i < maxRounds; i++) {
    await node.processor.settle();
    const pending = (await node.stores.messages.countByStatus()).pending ?? 0;
    if (pending === 0) return;
    node.advance(3600);
  }
  throw new Error(`the node still has pending messages after ${maxRounds} rounds`);
}
