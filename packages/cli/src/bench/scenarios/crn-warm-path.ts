/**
 * Warm request path: a program's `/vm/{hash}/` through the CRN against the same program called
 * directly on its own address and port 8080, with the same client and payloads (64 B, 64 KiB,
 * 1 MiB request bodies echoed back), sequentially and with 32 requests in flight. Also the CRN's
 * resident memory before and after the 1 MiB runs: bodies are streamed, so it must not grow
 * with body size.
 *
 * The reference proxy: nginx `proxy_pass` to the same program address, same client, same run
 * (64 B bodies, sequential and 32 in flight), for the CRN's added p50 and throughput against
 * nginx's. Without nginx those two figures are left out and the reason listed as skipped.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLoad } from '../load.ts';
import { nginxUnavailable, startNginx, type RunningNginx } from '../nginx.ts';
import { cpuUs, descendantsCpuUs } from '../proc-cpu.ts';
import type { Figure } from '../report.ts';
import type { BenchContext } from './context.ts';
import { benchVsNginx } from './crn-vs-nginx.ts';
import { crnAccelerator, programAddress, publishEcho, startNetwork, type BenchNetwork } from './network.ts';

const SIZES = [
  { label: '64B', bytes: 64 },
  { label: '64KiB', bytes: 64 * 1024 },
  { label: '1MiB', bytes: 1024 * 1024 },
];

/**
 * Peak resident memory of `pid` since the last call (MiB): reads VmHWM, then resets it to the
 * current RSS (`/proc/<pid>/clear_refs` ← 5, root or owner). Peaks catch a body buffered for a
 * moment, which RSS read after a run would miss (and GC noise of ±20 MiB would blur).
 */
function peakRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const peak = Number(/^VmHWM:\s+(\d+)/m.exec(status)?.[1] ?? NaN) / 1024;
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
  return peak;
}

export async function benchCrnWarmPath(ctx: BenchContext, skip: (scenario: string, reason: string) => void = () => {}): Promise<Figure[]> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-warm-'));
  let net: BenchNetwork | undefined;
  let nginx: RunningNginx | undefined;
  try {
    net = await startNetwork(ctx, dir, ctx.executor);
    const crn = net.crn;
    const hash = await (await publishEcho(ctx, net)).program('bench-echo');
    const viaCrn = `${crn.url}/vm/${hash}/echo`;
    const first = await fetch(viaCrn, { method: 'POST', body: 'warm-up' });
    if (first.status !== 200) throw new Error(`the echo program answered ${first.status}: ${(await first.text()).slice(0, 200)}`);
    // Direct: the workload's own address and port 8080 (for a microVM, the guest's IP on its tap).
    const address = await programAddress(net, hash);
    const direct = `http://${address}:8080/echo`;
    // The address must lead to this program: another VM network on the host using the same
    // subnets (a different tap prefix with the same pool) would answer instead.
    const probe = await fetch(direct, { method: 'POST', body: 'bench-probe', signal: AbortSignal.timeout(30_000) });
    const echoed = await probe.text();
    if (echoed !== 'bench-probe') throw new Error(`${direct} answered as another program (${echoed.slice(0, 80)}): its subnet is also routed elsewhere on this host`);

    // A guest under TCG (software emulation) answers 10 to 100 times slower than a host
    // process: fewer requests keep the scenario within minutes.
    const tcg = net.executor === 'microvm' && crnAccelerator(readFileSync(net.crnLog, 'utf8')) !== 'kvm';
    const scale = (ctx.quick ? 1 : 4) / (tcg ? 10 : 1);

    // Warm-up of both paths (JIT, connection pools), not measured.
    const warmup = Math.max(64, Math.round(500 * scale));
    await runLoad({ url: direct, method: 'POST', body: new Uint8Array(64), requests: warmup, concurrency: 32 });
    await runLoad({ url: viaCrn, method: 'POST', body: new Uint8Array(64), requests: warmup, concurrency: 32 });

    const figures: Figure[] = [];
    const peaks = new Map<string, number>();
    sizes: for (const size of SIZES) {
      const body = new Uint8Array(size.bytes).fill(97);
      peakRssMiB(crn.pid); // reset: the next read is this body size's peak
      for (const concurrency of [1, 32]) {
        // Enough requests for a run of about a second or more on this kind of host: shorter
        // runs at 32 in flight were dominated by noise.
        const perRun = size.bytes >= 1024 * 1024 ? (concurrency === 1 ? 60 : 200) : concurrency === 1 ? 1000 : 4000;
        const requests = Math.max(concurrency * 2, Math.round(scale * perRun));
        process.stderr.write(`bench:   ${size.label} c=${concurrency}: ${requests} requests each way\n`);
        const base = await runLoad({ url: direct, method: 'POST', body, requests, concurrency });
        const cpuBefore = { crn: cpuUs(crn.pid), workload: descendantsCpuUs(crn.pid) };
        const through = await runLoad({ url: viaCrn, method: 'POST', body, requests, concurrency });
        if (size.bytes === 64 && concurrency === 32) {
          // Where the CPU of a proxied request goes (see proc-cpu.ts): the CRN against the workload.
          const crnUs = (cpuUs(crn.pid) - cpuBefore.crn) / requests;
          const workloadUs = (descendantsCpuUs(crn.pid) - cpuBefore.workload) / requests;
          figures.push({ id: 'crn.warm.64B.c32.crn_cpu_us_per_request', title: `warm 64B c=32 CPU per request: CRN vs the workload (${ctx.executor})`, unit: 'µs', value: crnUs, baseline: workloadUs, ratio: crnUs / workloadUs });
        }
        if (base.errors + through.errors > 0) ctx.logger.warn({ size: size.label, concurrency, direct: base.errors, crn: through.errors }, 'requests failed');
        if (base.count === 0 || through.count === 0) {
          // Nothing to compare: leave the figures out rather than report NaN as a kept promise.
          // A workload that stopped answering (seen: a TCG guest's network under 32 × 64 KiB)
          // would make every later run wait for its timeouts: stop here.
          process.stderr.write(`bench:   ${size.label} c=${concurrency}: no request succeeded (direct ${base.count}, CRN ${through.count}); the remaining runs are left out\n`);
          ctx.logger.warn({ size: size.label, concurrency }, 'the workload stopped answering: warm-path runs cut short');
          break sizes;
        }
        const key = `crn.warm.${size.label}.c${concurrency}`;
        const addedP50 = through.p50Ms - base.p50Ms;
        figures.push({ id: `${key}.p50_ms`, title: `warm ${size.label} c=${concurrency} p50 (CRN vs direct)`, unit: 'ms', value: through.p50Ms, baseline: base.p50Ms, ratio: through.p50Ms / base.p50Ms });
        figures.push({ id: `${key}.p99_ms`, title: `warm ${size.label} c=${concurrency} p99 (CRN vs direct)`, unit: 'ms', value: through.p99Ms, baseline: base.p99Ms, ratio: through.p99Ms / base.p99Ms });
        figures.push({ id: `${key}.rps`, title: `warm ${size.label} c=${concurrency} throughput (CRN vs direct)`, unit: 'req/s', value: through.requestsPerSecond, baseline: base.requestsPerSecond, ratio: through.requestsPerSecond / base.requestsPerSecond });
        figures.push({ id: `${key}.added_p50_ms`, title: `warm ${size.label} c=${concurrency} added p50`, unit: 'ms', value: addedP50 });
      }
      peaks.set(size.label, peakRssMiB(crn.pid));
    }
    // Streamed bodies: the peak with 32 bodies of 1 MiB in flight stays within reach of the
    // peak with 64 KiB bodies; buffering them would add at least 32 MiB (the requests alone).
    const peak64k = peaks.get('64KiB');
    const peak1m = peaks.get('1MiB');
    if (peak64k !== undefined && peak1m !== undefined) figures.push({ id: 'crn.warm.rss_growth_1MiB_mib', title: 'CRN peak resident memory, 1 MiB runs vs 64 KiB runs', unit: 'MiB', value: peak1m - peak64k, baseline: peak64k, ratio: peak1m / peak64k });
    const noNginx = nginxUnavailable();
    if (noNginx) skip('crn-warm-path vs nginx', noNginx);
    else {
      nginx = await startNginx(`${address}:8080`);
      await runLoad({ url: `${nginx.url}/echo`, method: 'POST', body: new Uint8Array(64), requests: warmup, concurrency: 32 });
      process.stderr.write('bench:   64B vs nginx proxy_pass: direct, CRN and nginx interleaved\n');
      const vs = await benchVsNginx(direct, viaCrn, nginx, scale);
      figures.push(...vs.figures);
      if (vs.failed) skip('crn-warm-path vs nginx', vs.failed);
    }
    return figures;
  } finally {
    await nginx?.stop();
    await net?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
