/**
 * The CCN network: two real CCN processes on loopback, B peering with A (libp2p
 * bootstrap) and pulling from it (HTTP anti-entropy), every setting at its default.
 *
 *  1. A alone: submit-to-processed latency (POST to A → A's message WebSocket pushes it), one at
 *     a time and back to back: the baselines of the replication latencies.
 *  2. B joins and catches up; once meshed, replication latency (POST to A → B's WebSocket
 *     pushes it), one at a time and back to back.
 *  3. Replicated throughput: N messages to A at full speed (16 in flight) while B replicates:
 *     N / (first POST → B processed the last one).
 *  4. B stops (the partition); A alone ingests N more at full speed: N / (first POST → A
 *     processed the last one). This is the single-CCN ingest rate, the baseline of 3 and 5.
 *  5. B restarts on its data dir: N / (B ready → B holds all N processed): the catch-up rate.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import type { AlephMessage } from '@aleph-nodes/protocol';
import type { Figure } from '../report.ts';
import { nowMs, summarize, type LatencySummary } from '../stats.ts';
import { benchPosts, meshed, pairNode, peersOf, post, postAll, processedCount, until, watch, type Watch } from './ccn-pair.ts';
import type { BenchContext } from './context.ts';

const IN_FLIGHT = 16;
const WAIT_MS = 300_000;

/** POST each message to `url` and time it until `target`'s WebSocket pushes it. */
async function latencies(url: string, target: Watch, messages: readonly AlephMessage[], backToBack: boolean): Promise<LatencySummary> {
  const pool = new Pool(url, { connections: 1 });
  const started = new Map<string, number>();
  try {
    for (const m of messages) {
      started.set(m.item_hash, nowMs());
      await post(pool, m);
      // One at a time: the next POST waits for this one's arrival; back to back: only for its answer.
      if (!backToBack) await target.arrival(m.item_hash, WAIT_MS);
    }
    const arrivals = await Promise.all(messages.map((m) => target.arrival(m.item_hash, WAIT_MS)));
    return summarize(arrivals.map((at, i) => at - (started.get((messages[i] as AlephMessage).item_hash) as number)));
  } finally {
    await pool.close();
  }
}

/** N messages to `url` at full speed; messages per second until `target` processed them all. */
async function throughput(url: string, target: Watch, messages: readonly AlephMessage[]): Promise<number> {
  const start = nowMs();
  const [, done] = await Promise.all([postAll(url, messages, IN_FLIGHT), target.count(messages.length, WAIT_MS)]);
  return messages.length / ((done - start) / 1000);
}

function latencyFigures(mode: 'sequential' | 'back_to_back', replicated: LatencySummary, single: LatencySummary): Figure[] {
  const words = mode === 'sequential' ? 'one at a time' : 'back to back';
  return (['p50', 'p99'] as const).map((p) => {
    const value = p === 'p50' ? replicated.p50Ms : replicated.p99Ms;
    const baseline = p === 'p50' ? single.p50Ms : single.p99Ms;
    return {
      id: `ccn.network.replication.${mode}.${p}_ms`,
      title: `CCN replication latency ${p}, ${words}, ${replicated.count} msgs (POST to A → B pushes it, vs A alone: POST → A pushes it)`,
      unit: 'ms',
      value,
      baseline,
      ratio: value / baseline,
    };
  });
}

export async function benchCcnNetwork(ctx: BenchContext): Promise<Figure[]> {
  const latencyCount = ctx.quick ? 40 : 500;
  const count = ctx.quick ? 300 : 2000;
  const dir = mkdtempSync(join(tmpdir(), 'bench-network-'));
  const run = Date.now();
  const channel = (name: string): string => `BENCH-NET-${name}-${run}`;
  const a = pairNode(ctx, dir, 'a', {});
  let b: ReturnType<typeof pairNode> | undefined;
  const watches: Watch[] = [];
  const watchOn = async (url: string, name: string): Promise<Watch> => {
    const w = await watch(url, channel(name));
    watches.push(w);
    return w;
  };
  try {
    const A = await a.start();
    // Warm-up (JIT, database pages) on a channel nobody times.
    await postAll(A.url, benchPosts(channel('WARM'), 50), 8);

    // 1. A alone.
    const onA = await watchOn(A.url, 'BASE');
    const singleSeq = await latencies(A.url, onA, benchPosts(channel('BASE'), latencyCount), false);
    const singleBurst = await latencies(A.url, onA, benchPosts(channel('BASE'), latencyCount), true);

    // 2. B joins, catches up with everything so far, and meshes with A.
    const listen = (await peersOf(A.url)).listen.find((m) => m.startsWith('/ip4/127.0.0.1/'));
    if (!listen) throw new Error('A reports no loopback P2P address');
    b = pairNode(ctx, dir, 'b', { syncPeers: [A.url], p2pBootstrap: [listen] });
    let B = await b.start();
    const total = await processedCount(A.url, channel('BASE'));
    await until('B to catch up with A before the replication runs', WAIT_MS, async () => (await processedCount(B.url, channel('BASE'))) === total);
    await until('A and B to mesh', 120_000, () => meshed(A.url, B.url), 250);
    const onB = await watchOn(B.url, 'REPL');
    const replSeq = await latencies(A.url, onB, benchPosts(channel('REPL'), latencyCount), false);
    const replBurst = await latencies(A.url, onB, benchPosts(channel('REPL'), latencyCount), true);

    // 3. Replicated throughput.
    const replicated = await throughput(A.url, await watchOn(B.url, 'FLOW'), benchPosts(channel('FLOW'), count));

    // 4. The partition: B stopped, A alone ingests N.
    for (const w of watches.splice(0)) w.close();
    await b.stop();
    const partitioned = benchPosts(channel('GAP'), count);
    const single = await throughput(A.url, await watchOn(A.url, 'GAP'), partitioned);

    // 5. B back on its data dir: it pulls what it lacks from its cursor.
    B = await b.start();
    const resumed = nowMs();
    await until(`B to hold the ${count} messages it missed`, WAIT_MS, async () => (await processedCount(B.url, channel('GAP'))) === count, 50);
    const catchUp = count / ((nowMs() - resumed) / 1000);

    return [
      ...latencyFigures('sequential', replSeq, singleSeq),
      ...latencyFigures('back_to_back', replBurst, singleBurst),
      {
        id: 'ccn.network.replicated.messages_per_s',
        title: `CCN replicated msg/s: ${count} msgs to A at full speed, processed on B (vs A alone: processed on A)`,
        unit: 'msg/s',
        value: replicated,
        baseline: single,
        ratio: replicated / single,
      },
      {
        id: 'ccn.network.catch_up.messages_per_s',
        title: `CCN catch-up after a partition: ${count} msgs B missed, B restarted → all processed on B (vs A ingesting them alone)`,
        unit: 'msg/s',
        value: catchUp,
        baseline: single,
        ratio: catchUp / single,
      },
    ];
  } finally {
    for (const w of watches) w.close();
    await b?.stop();
    await a.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
