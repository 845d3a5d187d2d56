/**
 * The cold start with a warm pool (microvm.ts runs it beside the boot-per-program run): a CRN
 * with `warmPoolSize: 1` on the Node.js runtime (an echo server), or on the Python runtime (the
 * same echo as a FastAPI app). Each never-seen program (code and runtime cached) takes the pool
 * VM booted ahead, with its language started (guest launcher.ts); before each one the bench
 * waits for the pool to be full again (the CRN's `warm pools refilled` log line), so every
 * measured start is served by a pool VM, never by a boot. The first program (it downloads the
 * runtime) is not measured.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Figure } from '../report.ts';
import { nowMs } from '../stats.ts';
import type { BenchContext } from './context.ts';
import { publishEcho, publishPythonEcho, startNetwork, type BenchNetwork } from './network.ts';

export type PoolLanguage = 'node' | 'python';

export interface PoolColdStarts {
  coldStartsMs: number[];
  failures: number;
}

/** The pool's state in the CRN's last `warm pools refilled` line (pino JSON), if any. */
function lastRefill(log: string): { idle: number; taken: number } | undefined {
  let last: { idle: number; taken: number } | undefined;
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    if (!line.includes('warm pools refilled')) continue;
    try {
      const entry = JSON.parse(line) as { idle?: unknown; taken?: unknown };
      if (typeof entry.idle === 'number' && typeof entry.taken === 'number') last = { idle: entry.idle, taken: entry.taken };
    } catch {
      // a partial line being written
    }
  }
  return last;
}

/** Waits until the pool holds a VM again after at least `taken` takes; returns the take count. */
async function poolFull(net: BenchNetwork, taken: number, timeoutMs = 600_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = lastRefill(net.crnLog);
    if (state && state.idle >= 1 && state.taken >= taken) return state.taken;
    if (Date.now() > deadline) throw new Error(`the warm pool did not refill (last: ${JSON.stringify(state)}; see ${net.crnLog})`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function firstAnswerMs(net: BenchNetwork, hash: string): Promise<number | undefined> {
  const start = nowMs();
  const res = await fetch(`${net.crn.url}/vm/${hash}/`, { method: 'POST', body: 'cold', signal: AbortSignal.timeout(600_000) });
  const body = await res.text();
  return res.status === 200 && body === 'cold' ? nowMs() - start : undefined;
}

/** `programs` never-seen programs, each served by a warm pool VM (after one unmeasured first start). */
export async function poolColdStarts(ctx: BenchContext, dir: string, programs: number, guestMib: number, language: PoolLanguage = 'node'): Promise<PoolColdStarts> {
  const netDir = join(dir, `pool-${language}`);
  mkdirSync(netDir, { recursive: true });
  const pool = { warmPoolSize: 1, warmPoolMemoryMib: guestMib, warmPoolVcpus: 1, warmPoolRuntimes: [language] };
  const net = await startNetwork(ctx, netDir, 'microvm', { vcpuOvercommit: Math.max(4, programs + 2), startTimeoutSeconds: 300, ...pool });
  try {
    const echo = language === 'python' ? await publishPythonEcho(ctx, net, guestMib) : await publishEcho(ctx, net);
    const hashes: string[] = [];
    for (let i = 0; i <= programs; i++) hashes.push(await echo.program(`bench-pool-${language}-${i}`));
    let taken = await poolFull(net, 0);
    if ((await firstAnswerMs(net, hashes[0] as string)) === undefined) throw new Error(`the first program did not start (see ${net.crnLog})`);
    const coldStartsMs: number[] = [];
    let failures = 0;
    for (const hash of hashes.slice(1)) {
      // The pool VM the previous start took is replaced before the next never-seen program comes.
      taken = await poolFull(net, taken + 1);
      const ms = await firstAnswerMs(net, hash);
      if (ms === undefined) failures++;
      else coldStartsMs.push(ms);
    }
    const final = lastRefill(net.crnLog);
    // Every start took a pool VM (the first one's take included), or the figure is not a pool's.
    await poolFull(net, hashes.length);
    ctx.logger.info({ language, coldStartsMs, failures, pool: final }, 'warm pool cold starts');
    return { coldStartsMs, failures };
  } finally {
    await net.stop();
  }
}

/** The pool run, or undefined (logged) when it failed: the boot-per-program figure stands in. */
export async function poolPhase(ctx: BenchContext, dir: string, programs: number, guestMib: number, language: PoolLanguage = 'node'): Promise<PoolColdStarts | undefined> {
  try {
    const result = await poolColdStarts(ctx, dir, Math.max(1, Math.min(programs, 4)), guestMib, language);
    return result.coldStartsMs.length > 0 ? result : undefined;
  } catch (err) {
    const instead = language === 'node' ? 'the cold-start figure is the boot-per-program one' : 'no Python cold-start figure';
    ctx.logger.warn({ err: (err as Error).message, language }, `the warm pool run failed: ${instead}`);
    return undefined;
  }
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

/**
 * `crn.cold_start.first_answer_ms`: with the warm pool when its run succeeded, else the
 * boot-per-program start (said in the title); the boot-per-program start also on its own id.
 */
export function coldStartFigures(input: { accel: string; bootColdMs: number[]; pool: PoolColdStarts | undefined; pythonPool?: PoolColdStarts | undefined; bareAnswerMs: number; bareRuns: number }): Figure[] {
  const { accel, bareAnswerMs } = input;
  const boot = median(input.bootColdMs);
  const bootTitle = `a VM booted per program (${accel}, median of ${input.bootColdMs.length})`;
  const figures: Figure[] = [];
  const pooled = input.pool ? median(input.pool.coldStartsMs) : undefined;
  const value = pooled ?? boot;
  figures.push({
    id: 'crn.cold_start.first_answer_ms',
    title: `cold start of a never-seen program, first request to response, ${input.pool ? `served by a warm pool VM (${accel}, median of ${input.pool.coldStartsMs.length}${input.pool.failures ? `, ${input.pool.failures} failed` : ''})` : `${bootTitle}: the warm pool run failed`} vs bare QEMU boot to first answer (median of ${input.bareRuns})`,
    unit: 'ms',
    value,
    baseline: bareAnswerMs,
    ratio: value / bareAnswerMs,
    target: { text: 'ratio ≤ 0.2 (TCG)', met: value / bareAnswerMs <= 0.2 },
  });
  figures.push({
    id: 'crn.cold_start.boot.first_answer_ms',
    title: `cold start without a pool: ${bootTitle} vs bare QEMU boot to first answer`,
    unit: 'ms',
    value: boot,
    baseline: bareAnswerMs,
    ratio: boot / bareAnswerMs,
  });
  if (input.pythonPool) {
    const python = median(input.pythonPool.coldStartsMs);
    figures.push({
      id: 'crn.cold_start.python.first_answer_ms',
      title: `cold start of a never-seen Python FastAPI program, first request to response, served by a warm pool VM (${accel}, median of ${input.pythonPool.coldStartsMs.length}${input.pythonPool.failures ? `, ${input.pythonPool.failures} failed` : ''}) vs bare QEMU boot of the Node.js echo to first answer`,
      unit: 'ms',
      value: python,
      baseline: bareAnswerMs,
      ratio: python / bareAnswerMs,
    });
  }
  return figures;
}
