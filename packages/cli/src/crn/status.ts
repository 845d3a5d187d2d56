/** `crn status`: what a running CRN reports about itself (version, capacity, executions). */
import { EXIT } from '../common/exit-codes.ts';
import { printJson, printTable } from '../common/output.ts';

interface Usage {
  cpu?: { count?: number; load_average?: { load1?: number } };
  mem?: { total_kB?: number; available_kB?: number };
  disk?: { total_kB?: number; available_kB?: number };
  active?: boolean;
}

/** One entry of `/v2/about/executions/list`, with this CRN's extras (payment, stop reason). */
interface ListedExecution {
  running?: boolean;
  vm_type?: string;
  state?: string;
  payment?: { status?: string; detail?: string; reason?: string };
  stop_reason?: string;
  stop_detail?: string;
  last_error?: string;
}

async function getJson(url: string): Promise<{ status: number; server: string | null; body: unknown }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // keep the text
  }
  return { status: res.status, server: res.headers.get('server'), body };
}

export async function runStatus(opts: { url: string; json: boolean }): Promise<number> {
  const base = opts.url.replace(/\/+$/, '');
  let usage: Awaited<ReturnType<typeof getJson>>;
  try {
    usage = await getJson(`${base}/about/usage/system`);
  } catch (err) {
    process.stderr.write(`crn status: ${base} did not answer: ${(err as Error).message}\n`);
    return EXIT.FAILURE;
  }
  const executions = await getJson(`${base}/v2/about/executions/list`).catch(() => undefined);
  const config = await getJson(`${base}/status/config`).catch(() => undefined);
  const u = usage.body as Usage;
  const list = (executions?.body ?? {}) as Record<string, ListedExecution>;
  const summary = {
    url: base,
    server: usage.server,
    healthy: usage.status === 200,
    nodeHash: (config?.body as { node_hash?: string | null } | undefined)?.node_hash ?? null,
    cpu: { count: u.cpu?.count ?? null, load1: u.cpu?.load_average?.load1 ?? null },
    memory: { totalKiB: u.mem?.total_kB ?? null, availableKiB: u.mem?.available_kB ?? null },
    disk: { totalKiB: u.disk?.total_kB ?? null, availableKiB: u.disk?.available_kB ?? null },
    executions: Object.entries(list).map(([hash, e]) => ({
      hash,
      running: e.running ?? null,
      type: e.vm_type ?? null,
      state: e.state ?? null,
      payment: e.payment?.status ?? null,
      stopReason: e.stop_reason ? `${e.stop_reason}${e.stop_detail ? ` (${e.stop_detail})` : ''}` : null,
      reason: e.payment?.reason ?? e.last_error ?? null,
    })),
  };
  if (opts.json) printJson(summary);
  else {
    const mib = (kib: number | null): string => (kib === null ? '?' : `${Math.round(kib / 1024)} MiB`);
    printTable(['FIELD', 'VALUE'], [
      ['url', summary.url],
      ['server', summary.server ?? '?'],
      ['healthy', String(summary.healthy)],
      ['node hash', summary.nodeHash ?? 'unknown'],
      ['cpus', String(summary.cpu.count ?? '?')],
      ['memory available', `${mib(summary.memory.availableKiB)} of ${mib(summary.memory.totalKiB)}`],
      ['disk available', `${mib(summary.disk.availableKiB)} of ${mib(summary.disk.totalKiB)}`],
      ['executions', String(summary.executions.length)],
    ]);
    for (const e of summary.executions) {
      const payment = e.payment ? ` payment:${e.payment}` : '';
      const stopped = e.stopReason ? ` stopped:${e.stopReason}` : '';
      process.stdout.write(`  ${e.hash} ${e.type ?? ''} ${e.state ?? (e.running ? 'running' : 'not running')}${payment}${stopped}\n`);
      if (e.stopReason && e.reason) process.stdout.write(`    ${e.reason}\n`);
    }
  }
  return summary.healthy ? EXIT.OK : EXIT.FAILURE;
}
