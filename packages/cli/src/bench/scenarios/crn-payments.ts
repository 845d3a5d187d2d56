/**
 * CRN payment monitor: the cost of one monitor pass over 1,000 running workloads against a real
 * CCN process. 1,000 on-demand hold PROGRAMs of 50 owners (20 each) are published and the owners
 * funded by a balance oracle post; the monitor (the CRN's own PaymentChecker + PaymentMonitor,
 * in this process) is given 1,000 synthetic executions of those messages and runs passes: one
 * message-state read per workload, one balance read per owner, prices cached across passes.
 * Baseline in the same run: 1,000 plain GETs of `/api/v0/messages/{h}` through the same CCN
 * client, as many in flight (16). Figures: wall ms and CPU ms (this process, where the CRN would
 * spend it) per pass, CCN requests per pass, and the first pass (prices not cached yet).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildInlineMessage, EthAccount, type AlephMessage } from '@aleph-nodes/protocol';
import { CcnClient, PaymentChecker, PaymentMonitor, type PaidWorkload } from '@aleph-nodes/crn';
import { silentLogger } from '@aleph-nodes/service';
import { startChildNode } from '../../common/child-node.ts';
import { publishMessage } from '../../common/ccn-client.ts';
import { storeFile } from '../../devnet/sample-program.ts';
import type { Figure } from '../report.ts';
import { nowMs } from '../stats.ts';
import type { BenchContext } from './context.ts';

const WORKLOADS = 1000;
const OWNERS = 50;
const IN_FLIGHT = 16;

function programMessage(owner: EthAccount, i: number, refs: { code: string; runtime: string }): AlephMessage {
  return buildInlineMessage(
    owner,
    'PROGRAM',
    {
      type: 'vm-function',
      allow_amend: false,
      metadata: { name: `bench-payments-${i}` },
      on: { http: true, persistent: false },
      environment: { reproducible: false, internet: false, aleph_api: false, shared_cache: false },
      resources: { vcpus: 1, memory: 128, seconds: 30 },
      runtime: { ref: refs.runtime, use_latest: true, comment: 'bench runtime' },
      volumes: [],
      variables: { I: String(i) },
      code: { encoding: 'zip', entrypoint: 'main.mjs', ref: refs.code, use_latest: false },
    },
    { channel: 'BENCH' },
  );
}

async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < items.length) await fn(items[next++] as T);
  }));
}

/** Wall and CPU (this process) milliseconds of `run`. */
async function measured(run: () => Promise<void>): Promise<{ wallMs: number; cpuMs: number }> {
  const cpu = process.cpuUsage();
  const start = nowMs();
  await run();
  const used = process.cpuUsage(cpu);
  return { wallMs: nowMs() - start, cpuMs: (used.user + used.system) / 1000 };
}

export async function benchCrnPayments(ctx: BenchContext): Promise<Figure[]> {
  const passes = ctx.quick ? 3 : 10;
  const dir = mkdtempSync(join(tmpdir(), 'bench-payments-'));
  try {
    const oracle = EthAccount.generate();
    const config = join(dir, 'ccn.json');
    writeFileSync(config, JSON.stringify({ host: '127.0.0.1', port: 0, p2pPort: 0, dataDir: dir, logLevel: 'info', balanceIndexers: [oracle.address] }));
    const ccn = await startChildNode({ kind: 'ccn', label: 'bench-payments-ccn', args: ['--config', config], logFile: join(dir, 'ccn.log'), binDir: ctx.binDir, readyTimeoutMs: 60_000 });
    try {
      const owners = Array.from({ length: OWNERS }, () => EthAccount.generate());
      // Funded first: a CCN that checks holds at processing accepts the programs.
      const balances = Object.fromEntries(owners.map((o) => [o.address, 1_000_000]));
      await publishMessage(ccn.url, buildInlineMessage(oracle, 'POST', { type: 'balances-update', content: { chain: 'ETH', main_height: Date.now(), balances } }, { channel: 'BENCH' }));
      const first = owners[0] as EthAccount;
      const refs = {
        code: await storeFile(ccn.url, first, new TextEncoder().encode('bench code stand-in'), 'BENCH'),
        runtime: await storeFile(ccn.url, first, new TextEncoder().encode('bench runtime stand-in'), 'BENCH'),
      };
      const messages = Array.from({ length: WORKLOADS }, (_, i) => programMessage(owners[i % OWNERS] as EthAccount, i, refs));
      await eachLimited(messages, 8, (m) => publishMessage(ccn.url, m));

      const client = new CcnClient(ccn.url);
      let requests = 0;
      const counted = { getJson: (path: string) => (requests++, client.getJson(path)) };
      const checker = new PaymentChecker(
        counted,
        { enforce: true, receiver: oracle.address, nodeHash: '', exempt: new Set(), priceCacheMs: 300_000, accountCacheMs: 0 },
        silentLogger(),
      );
      const base = Date.now();
      const workloads: PaidWorkload[] = messages.map((m, i) => ({
        ref: m.item_hash,
        owner: m.sender,
        content: { address: m.sender, payment: { type: 'hold' } },
        since: new Date(base + i).toISOString(),
      }));
      let stopped = 0;
      const monitor = new PaymentMonitor(checker, { workloads: () => workloads, stopUnpaid: async () => void stopped++ }, { confirmations: 3, concurrency: IN_FLIGHT }, silentLogger());

      // Warm-up (connections, JIT) with the baseline's own requests.
      const plainGets = (): Promise<void> => eachLimited(messages, IN_FLIGHT, async (m) => void (await client.getJson(`api/v0/messages/${m.item_hash}`)));
      await plainGets();

      requests = 0;
      let paid = 0;
      const cold = await measured(async () => void (paid = (await monitor.pass()).paid));
      const coldRequests = requests;
      // Baseline (the status fetch alone: one GET per workload, same client, same concurrency) and
      // passes alternate, so that a drift of the shared host weighs on both alike.
      let wall = 0;
      let cpu = 0;
      let baseWall = 0;
      let baseCpu = 0;
      let passRequests = 0;
      for (let i = 0; i < passes; i++) {
        const b = await measured(plainGets);
        baseWall += b.wallMs;
        baseCpu += b.cpuMs;
        requests = 0;
        const m = await measured(async () => void (await monitor.pass()));
        passRequests += requests;
        wall += m.wallMs;
        cpu += m.cpuMs;
      }
      const baseline = { wallMs: baseWall / passes, cpuMs: baseCpu / passes };
      const perPassRequests = passRequests / passes;
      if (paid !== WORKLOADS || stopped !== 0) throw new Error(`expected ${WORKLOADS} paid workloads, got ${paid} paid and ${stopped} stopped`);
      ctx.logger.info({ passes, cold, coldRequests, perPassRequests, baseline }, 'payment monitor passes');
      return [
        {
          id: 'crn.payments.pass_wall_ms',
          title: `payment monitor pass over ${WORKLOADS} workloads of ${OWNERS} owners, wall (vs ${WORKLOADS} plain message GETs)`,
          unit: 'ms',
          value: wall / passes,
          baseline: baseline.wallMs,
          ratio: wall / passes / baseline.wallMs,
        },
        {
          id: 'crn.payments.pass_cpu_ms',
          title: `payment monitor pass, CPU of the monitor's process (vs the same for ${WORKLOADS} plain GETs)`,
          unit: 'ms',
          value: cpu / passes,
          baseline: baseline.cpuMs,
          ratio: cpu / passes / baseline.cpuMs,
        },
        { id: 'crn.payments.pass_requests', title: 'CCN requests per pass (states + one balance per owner; prices cached)', unit: 'requests', value: perPassRequests, baseline: WORKLOADS, ratio: perPassRequests / WORKLOADS },
        { id: 'crn.payments.first_pass_wall_ms', title: `first pass (prices not cached yet: ${coldRequests} requests), wall`, unit: 'ms', value: cold.wallMs, baseline: baseline.wallMs, ratio: cold.wallMs / baseline.wallMs },
      ];
    } finally {
      await ccn.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
