/** The scenarios `npm run bench` runs, in order; each failure is reported, not fatal to the rest. */
import { execFileSync } from 'node:child_process';
import pg from 'pg';
import type { Figure } from '../report.ts';
import { benchCcnFiles } from './ccn-files.ts';
import { benchCcnIngest } from './ccn-ingest.ts';
import { benchCcnNetwork } from './ccn-network.ts';
import type { BenchContext } from './context.ts';
import { benchCache } from './cache.ts';
import { benchCrnPayments } from './crn-payments.ts';
import { benchCrnWarmPath } from './crn-warm-path.ts';
import { benchMicroVm } from './microvm.ts';
import { benchSnapshot } from './snapshot.ts';
import { firewallTableGuard } from '../../common/firewall-table.ts';

const POSTGRES_ADMIN_URL = process.env.BENCH_POSTGRES_URL ?? 'postgres://aleph:aleph@127.0.0.1:5432/aleph_test';

/** Why the microVM scenarios cannot run on this host, or undefined when they can. */
function microVmUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'the microvm executor needs root (tap devices)';
  try {
    execFileSync('qemu-system-x86_64', ['--version'], { stdio: 'ignore', timeout: 10_000 });
  } catch {
    return 'qemu-system-x86_64 is not installed';
  }
  return undefined;
}

/** A fresh PostgreSQL database for one run, or undefined when no server is reachable. */
async function freshPostgres(): Promise<{ url: string; drop(): Promise<void> } | undefined> {
  const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 3000 });
  try {
    await admin.connect();
  } catch {
    return undefined;
  }
  const name = `aleph_bench_${process.pid}_${Date.now()}`;
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}

export async function runScenarios(ctx: BenchContext): Promise<{ figures: Figure[]; skipped: { scenario: string; reason: string }[]; accelerator: string }> {
  const figures: Figure[] = [];
  const skipped: { scenario: string; reason: string }[] = [];
  const releaseFirewall = firewallTableGuard();
  const attempt = async (scenario: string, run: () => Promise<Figure[]>): Promise<void> => {
    const group = scenario.split(' ')[0]?.replace(/-(sqlite|postgres|process)$/, '') ?? scenario;
    if (ctx.only && !ctx.only.includes(group)) {
      skipped.push({ scenario, reason: 'not selected (--only)' });
      return;
    }
    process.stderr.write(`bench: ${scenario}...\n`);
    try {
      figures.push(...(await run()));
    } catch (err) {
      skipped.push({ scenario, reason: `failed: ${(err as Error).message}` });
    }
  };

  await attempt('ccn-ingest-sqlite', () => benchCcnIngest(ctx, { label: 'sqlite', url: 'sqlite' }));
  const postgres = ctx.only && !ctx.only.includes('ccn-ingest') ? undefined : await freshPostgres();
  if (postgres) {
    await attempt('ccn-ingest-postgres', () => benchCcnIngest(ctx, { label: 'postgres', url: postgres.url }));
    await postgres.drop().catch((err: Error) => ctx.logger.warn({ err: err.message }, 'cannot drop the bench database'));
  } else skipped.push({ scenario: 'ccn-ingest-postgres', reason: ctx.only && !ctx.only.includes('ccn-ingest') ? 'not selected (--only)' : `no PostgreSQL server at ${POSTGRES_ADMIN_URL}` });
  await attempt('ccn-files', () => benchCcnFiles(ctx));
  await attempt('ccn-network', () => benchCcnNetwork(ctx));
  await attempt('crn-warm-path', () => benchCrnWarmPath(ctx, (scenario, reason) => skipped.push({ scenario, reason })));
  await attempt('crn-payments', () => benchCrnPayments(ctx));
  await attempt('cache-process', () => benchCache(ctx));
  let accelerator = 'none (no microVM scenario ran)';
  const noVm = ctx.only && !ctx.only.includes('microvm') ? 'not selected (--only)' : ctx.microVm.programs === 0 ? 'disabled (--vms 0)' : microVmUnavailable();
  const noSnapshot = ctx.only && !ctx.only.includes('snapshot') ? 'not selected (--only)' : microVmUnavailable();
  if (noSnapshot) skipped.push({ scenario: 'snapshot', reason: noSnapshot });
  else await attempt('snapshot', () => benchSnapshot(ctx));
  if (noVm) {
    for (const scenario of ['cold-start', 'density', 'cache-microvm']) skipped.push({ scenario, reason: noVm });
  } else {
    await attempt('microvm (cold-start, density, cache-microvm)', async () => {
      const result = await benchMicroVm(ctx, ctx.microVm);
      accelerator = result.accelerator;
      return result.figures;
    });
  }
  if (ctx.executor === 'microvm' && accelerator.startsWith('none')) accelerator = 'microvm executor (accelerator in the CRN log)';
  releaseFirewall();
  return { figures, skipped, accelerator };
}
