/**
 * The microVM scenarios, on one CCN + CRN (`microvm` executor) so that each guest boot serves
 * several figures (under TCG a boot costs seconds of both cores):
 *
 * 1. K copies of the echo program (same code, same runtime) are published. The first request
 *    to copy 1 downloads the runtime (56 MiB) and the code from the CCN: the cache scenario's
 *    "first start". Copies 2..K are never-seen programs whose code and runtime are cached: each
 *    first request is a cold start (and the cache scenario's "cached start").
 * 2. Density: with the K programs idle, host MemAvailable against its value before the first
 *    start, and each QEMU's RSS/PSS split into touched guest RAM, TCG's code cache and the rest
 *    (qemu-procs.ts).
 * 3. The boot watchdog's retries, counted from the QEMU processes seen for each VM.
 * 4. The bare boots (bare-boot.ts), the cold-start limit: one after each cold start, the rest
 *    once the CRN stopped.
 * 5. The cold starts again on a CRN with a warm pool (microvm-pool.ts): the cold-start figure.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImages } from '@aleph-nodes/guest/build';
import type { Accelerator } from '@aleph-nodes/vmm';
import { prepareBareBoot, type BareBooter, type BareBootResult } from '../bare-boot.ts';
import { listQemu, memAvailableKiB, pssKiB, QemuSampler, qemuMemory, type QemuMemory } from '../qemu-procs.ts';
import type { Figure } from '../report.ts';
import { nowMs } from '../stats.ts';
import type { BenchContext } from './context.ts';
import { coldStartFigures, poolPhase, type PoolColdStarts } from './microvm-pool.ts';
import { crnAccelerator, ECHO_MJS, publishEcho, startNetwork, type BenchNetwork } from './network.ts';

/** Guest memory of the published programs (sample-program.ts: `resources.memory`). */
const GUEST_MIB = 128;
const PYTHON_GUEST_MIB = 256;

export interface MicroVmPlan {
  /** Programs started through the CRN (≥ 2: one first start, then cold starts). */
  programs: number;
  /** Bare boots for the cold-start limit. */
  bareBoots: number;
  /** Whether to run the Python warm pool (crn.cold_start.python.first_answer_ms). */
  pythonPool: boolean;
}

function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

const mean = (values: readonly number[]): number => values.reduce((s, v) => s + v, 0) / values.length;

/** Time from the first request of a program to its full response; undefined when it failed. */
async function firstRequestMs(ctx: BenchContext, net: BenchNetwork, hash: string): Promise<number | undefined> {
  const start = nowMs();
  // The CRN's own boot watchdog gives up within minutes; this only guards against a hung CRN.
  const res = await fetch(`${net.crn.url}/vm/${hash}/`, { method: 'POST', body: 'cold', signal: AbortSignal.timeout(600_000) });
  const body = await res.text();
  const ms = nowMs() - start;
  if (res.status === 200 && body === 'cold') return ms;
  ctx.logger.warn({ hash, status: res.status, body: body.slice(0, 300) }, 'a program failed to start');
  return undefined;
}

interface CrnPhase {
  accelerator: string;
  firstStartMs: number;
  coldStartsMs: number[];
  /** Programs whose first request failed. */
  failures: number;
  memAvailableDeltaKiB: number;
  /** The CRN's own PSS growth while it started the programs. */
  crnPssGrowthKiB: number;
  qemu: QemuMemory[];
  boots: { vms: number; attempts: number; retries: number };
}

/** Bare boots, counted; failures are logged and counted, not fatal. */
class BareRuns {
  readonly runs: BareBootResult[] = [];
  failures = 0;
  constructor(private readonly ctx: BenchContext, private readonly booter: BareBooter) {}
  async once(): Promise<void> {
    try {
      this.runs.push(await this.booter.boot());
    } catch (err) {
      this.failures++;
      this.ctx.logger.warn({ err: (err as Error).message }, 'bare boot failed');
    }
  }
}

/**
 * The CRN part. Bare boots are interleaved with the cold starts (one after each, while the
 * earlier programs idle) so that both see the same load from whatever else shares the host.
 */
async function crnPhase(ctx: BenchContext, plan: MicroVmPlan, dir: string, bare: BareRuns, onAccelerator: (accelerator: string) => void): Promise<CrnPhase> {
  // Idle programs are the point of the density figure: allow more vCPUs than the host has.
  // A deadline, not a measure: TCG boots on a loaded host can exceed the default 30 s.
  const net = await startNetwork(ctx, dir, 'microvm', { vcpuOvercommit: Math.max(4, plan.programs), startTimeoutSeconds: 300 });
  const sampler = new QemuSampler(net.crnDataDir);
  try {
    const accelerator = crnAccelerator(readFileSync(net.crnLog, 'utf8')) ?? 'unknown';
    onAccelerator(accelerator);
    const echo = await publishEcho(ctx, net);
    const hashes: string[] = [];
    for (let i = 0; i < plan.programs; i++) hashes.push(await echo.program(`bench-vm-${i}`));
    const before = memAvailableKiB();
    const crnPssBefore = pssKiB(net.crn.pid);
    const firstStartMs = await firstRequestMs(ctx, net, hashes[0] as string);
    if (firstStartMs === undefined) throw new Error(`the first program did not start (see ${net.crnLog})`);
    const coldStartsMs: number[] = [];
    let failures = 0;
    for (const [i, hash] of hashes.slice(1).entries()) {
      const ms = await firstRequestMs(ctx, net, hash);
      if (ms === undefined) failures++;
      else coldStartsMs.push(ms);
      if (i < plan.bareBoots) await bare.once();
    }
    if (coldStartsMs.length === 0) throw new Error(`no cold start succeeded (see ${net.crnLog})`);
    // Idle: the guests finished booting; give their page cache and the CRN a moment to settle.
    await new Promise((r) => setTimeout(r, 3000));
    const after = memAvailableKiB();
    const crnPssGrowthKiB = pssKiB(net.crn.pid) - crnPssBefore;
    sampler.sample();
    const qemu = listQemu(net.crnDataDir).map((p) => qemuMemory(p.pid, GUEST_MIB));
    if (qemu.length !== plan.programs - failures) throw new Error(`expected ${plan.programs - failures} QEMU processes, found ${qemu.length}`);
    return { accelerator, firstStartMs, coldStartsMs, failures, memAvailableDeltaKiB: before - after, crnPssGrowthKiB, qemu, boots: sampler.counts() };
  } finally {
    sampler.stop();
    await net.stop();
  }
}

export async function benchMicroVm(ctx: BenchContext, plan: MicroVmPlan): Promise<{ figures: Figure[]; accelerator: string }> {
  if (plan.programs < 2) throw new Error('the microVM scenarios need at least 2 programs');
  const dir = mkdtempSync(join(tmpdir(), 'bench-vm-'));
  try {
    const images = await buildImages();
    // The bare boots use the accelerator the CRN chose; it is known once the CRN is up, so the
    // booter is prepared lazily on the first bare boot.
    const chosen: { accel: Accelerator } = { accel: 'tcg' };
    let booter: BareBooter | undefined;
    const lazy: BareBooter = {
      boot: async () => {
        booter ??= await prepareBareBoot({ images: { kernel: images.kernel, initramfs: images.initramfs, runtime: images.runtimes.node }, files: { 'main.mjs': ECHO_MJS }, workDir: dir, accelerator: chosen.accel, memoryMib: GUEST_MIB });
        return booter.boot();
      },
      close: () => booter?.close(),
    };
    const bare = new BareRuns(ctx, lazy);
    let crn: CrnPhase;
    let pool: PoolColdStarts | undefined;
    let pythonPool: PoolColdStarts | undefined;
    try {
      crn = await crnPhase(ctx, plan, dir, bare, (a) => {
        chosen.accel = a === 'kvm' ? 'kvm' : 'tcg';
      });
      // Bare boots beyond the cold starts, after the CRN and its VMs stopped.
      while (bare.runs.length + bare.failures < plan.bareBoots) await bare.once();
      pool = await poolPhase(ctx, dir, plan.programs - 1, GUEST_MIB);
      // 256 MiB, as the Python programs of the tests: at 128 MiB the guest agent (Node.js) and a
      // FastAPI program leave too little page cache under TCG (the guest thrashes on its squashfs).
      if (plan.pythonPool) pythonPool = await poolPhase(ctx, dir, plan.programs - 1, PYTHON_GUEST_MIB, 'python');
    } finally {
      lazy.close();
    }
    const accel = chosen.accel;
    const bareRuns = bare.runs;
    const bareFailures = bare.failures;
    if (bareRuns.length === 0) throw new Error(`every bare boot failed (${bareFailures})`);

    const cold = median(crn.coldStartsMs);
    const bareAnswer = median(bareRuns.map((r) => r.toFirstAnswerMs));
    const bareInit = median(bareRuns.map((r) => r.toInitMs).filter((v) => Number.isFinite(v)));
    const mib = (kib: number): number => kib / 1024;
    const perVm = mib(crn.memAvailableDeltaKiB) / crn.qemu.length;
    // Attributable memory per program: its QEMU's PSS plus its share of the CRN's growth.
    const attributable = mean(crn.qemu.map((q) => mib(q.pssKiB))) + mib(Math.max(0, crn.crnPssGrowthKiB)) / crn.qemu.length;
    const overhead = crn.qemu.map((q) => mib(q.rssKiB - q.guestRamRssKiB));
    const overheadNoTcg = crn.qemu.map((q) => mib(q.rssKiB - q.guestRamRssKiB - q.tcgCodeCacheRssKiB));
    // A failed CRN start still showed its QEMU attempts to the sampler.
    const boots = crn.boots.vms + bareRuns.length + bareFailures;
    const attempts = crn.boots.attempts + bareRuns.length + bareFailures;

    const figures: Figure[] = [
      ...coldStartFigures({ accel, bootColdMs: crn.coldStartsMs, pool, pythonPool, bareAnswerMs: bareAnswer, bareRuns: bareRuns.length }),
      {
        id: 'crn.cold_start.added_ms',
        title: 'cold start, time added by the CRN over the bare boot',
        unit: 'ms',
        value: cold - bareAnswer,
        ...(accel === 'kvm' ? { target: { text: 'KVM: first answer < 300 ms', met: cold < 300 } } : {}),
      },
      {
        id: 'crn.cold_start.bare_boot_to_init_ms',
        title: 'bare boot, QEMU start to the runtime init (kernel + initramfs), share of the bare first answer',
        unit: 'ms',
        value: bareInit,
        baseline: bareAnswer,
        ratio: bareInit / bareAnswer,
      },
      {
        id: 'crn.microvm.boot_retries',
        title: `microVM boot attempts retried by the watchdog, of ${boots} boots (CRN and bare)`,
        unit: 'count',
        value: attempts - boots,
        baseline: boots,
        ratio: (attempts - boots) / boots,
      },
      {
        id: 'crn.microvm.boot_failures',
        title: `microVM starts that failed (CRN: ${crn.failures}, bare: ${bareFailures}), of ${boots} boots`,
        unit: 'count',
        value: crn.failures + bareFailures,
        baseline: boots,
        ratio: (crn.failures + bareFailures) / boots,
        target: { text: 'no failed boot', met: crn.failures + bareFailures === 0 },
      },
      {
        id: 'crn.cache.microvm.cached_start_ms',
        title: 'microvm: start with runtime and code cached vs first start downloading them (56 MiB runtime)',
        unit: 'ms',
        value: cold,
        baseline: crn.firstStartMs,
        ratio: cold / crn.firstStartMs,
      },
      {
        id: 'crn.density.programs_per_gib',
        title: `idle programs kept warm per GiB (${crn.qemu.length} × ${GUEST_MIB} MiB guests; QEMU PSS + CRN growth) vs 1 GiB / guest RAM`,
        unit: 'programs/GiB',
        value: 1024 / attributable,
        baseline: 1024 / GUEST_MIB,
        ratio: 1024 / attributable / (1024 / GUEST_MIB),
      },
      {
        id: 'crn.density.host_mib_per_program',
        title: 'host MemAvailable drop per idle program (host-wide: other tenants move it too) vs QEMU PSS + CRN growth',
        unit: 'MiB',
        value: perVm,
        baseline: attributable,
        ratio: perVm / attributable,
      },
      {
        id: 'crn.density.qemu_rss_mib',
        title: 'QEMU resident memory per VM (RSS; PSS as baseline)',
        unit: 'MiB',
        value: mean(crn.qemu.map((q) => mib(q.rssKiB))),
        baseline: mean(crn.qemu.map((q) => mib(q.pssKiB))),
        ratio: mean(crn.qemu.map((q) => q.rssKiB / q.pssKiB)),
      },
      {
        id: 'crn.density.guest_ram_touched_mib',
        title: 'guest RAM resident per VM (touched pages of the guest memory mapping) vs guest RAM',
        unit: 'MiB',
        value: mean(crn.qemu.map((q) => mib(q.guestRamRssKiB))),
        baseline: GUEST_MIB,
        ratio: mean(crn.qemu.map((q) => mib(q.guestRamRssKiB))) / GUEST_MIB,
      },
      {
        id: 'crn.density.vmm_overhead_mib',
        title: `VMM overhead per VM: QEMU RSS − touched guest RAM (${accel})`,
        unit: 'MiB',
        value: mean(overhead),
        target: { text: '< 10 MiB per VM', met: mean(overhead) < 10 },
      },
      {
        id: 'crn.density.vmm_overhead_without_tcg_cache_mib',
        title: 'VMM overhead per VM without TCG translated-code cache (what KVM would not have)',
        unit: 'MiB',
        value: mean(overheadNoTcg),
        target: { text: '< 10 MiB per VM', met: mean(overheadNoTcg) < 10 },
      },
    ];
    return { figures, accelerator: `${accel} (${crn.accelerator === 'kvm' ? 'hardware' : 'software emulation'})` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
