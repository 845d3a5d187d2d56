/**
 * `crn status`: what a running CRN reports about itself (version, capacity, executions) and, once
 * it has a node hash, what the registry of its CCN says of it (linked or waiting, the CCN it is
 * linked to, its health as that CCN's monitor sees it). A URL that does not answer like a CRN is
 * said to be one, rather than printed as an empty node.
 */
import { EXIT } from '../common/exit-codes.ts';
import { causeOf } from '../common/http.ts';
import { printJson, printTable } from '../common/output.ts';
import { readRegistry } from '../common/registry-client.ts';

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

interface StatusConfig {
  node_hash?: string | null;
  version?: string;
  references?: { API_SERVER?: string };
}

async function getJson(url: string): Promise<{ status: number; server: string | null; body: unknown; json: boolean }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  try {
    return { status: res.status, server: res.headers.get('server'), body: JSON.parse(text) as unknown, json: true };
  } catch {
    return { status: res.status, server: res.headers.get('server'), body: text, json: false };
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Why `usage` is not a CRN's /about/usage/system answer, or null when it is one. */
function notACrn(usage: Awaited<ReturnType<typeof getJson>>): string | null {
  if (usage.status === 404) return 'GET /about/usage/system answered 404';
  if (!usage.json || !isRecord(usage.body)) return `GET /about/usage/system answered ${usage.status} without a JSON object`;
  const b = usage.body as Usage;
  if (usage.status === 200 && (!isRecord(b.cpu) || !isRecord(b.mem) || !isRecord(b.disk))) return 'GET /about/usage/system has no cpu, mem and disk';
  return null;
}

export interface StatusOptions {
  url: string;
  json: boolean;
  /** From the config file: used when the running node does not know its hash yet. */
  nodeHash?: string | undefined;
  /** From the config file: the CCN whose registry is read when the node does not name one. */
  ccn?: string | undefined;
}

export async function runStatus(opts: StatusOptions): Promise<number> {
  const base = opts.url.replace(/\/+$/, '');
  let usage: Awaited<ReturnType<typeof getJson>>;
  try {
    usage = await getJson(`${base}/about/usage/system`);
  } catch (err) {
    process.stderr.write(`crn status: cannot reach ${base}/about/usage/system: ${causeOf(err)}\n`);
    return EXIT.FAILURE;
  }
  const why = notACrn(usage);
  if (why) {
    process.stderr.write(`crn status: ${base} is not a CRN (${why})\n`);
    return EXIT.FAILURE;
  }
  const executions = await getJson(`${base}/v2/about/executions/list`).catch(() => undefined);
  const config = await getJson(`${base}/status/config`).catch(() => undefined);
  const u = usage.body as Usage;
  const list = executions?.json && isRecord(executions.body) ? (executions.body as Record<string, ListedExecution>) : {};
  const statusConfig = (config?.json && isRecord(config.body) ? config.body : {}) as StatusConfig;
  const nodeHash = statusConfig.node_hash || opts.nodeHash || null;
  const ccn = (statusConfig.references?.API_SERVER ?? opts.ccn)?.replace(/\/+$/, '');
  const registry = nodeHash && ccn ? await registryEntry(ccn, nodeHash) : null;
  const summary = {
    url: base,
    server: usage.server,
    healthy: usage.status === 200,
    nodeHash,
    registry,
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
    const reg = summary.registry;
    printTable(['FIELD', 'VALUE'], [
      ['url', summary.url],
      ['server', summary.server ?? '?'],
      ['healthy', String(summary.healthy)],
      ['node hash', summary.nodeHash ?? 'unknown (run `crn register --config FILE`)'],
      ...(reg ? [['registry', reg.error ?? `${reg.status}${reg.parent ? ` to CCN ${reg.parent}` : ''}`], ['health (CCN monitor)', reg.health ?? 'unknown']] : []),
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

interface RegistryEntry {
  ccn: string;
  status: string | null;
  parent: string | null;
  /** As the CCN's monitor sees the node; known by the CCN the node is linked to. */
  health: string | null;
  error?: string;
}

async function registryEntry(ccn: string, nodeHash: string): Promise<RegistryEntry> {
  try {
    const registry = await readRegistry(ccn);
    const crn = registry.resource_nodes.find((n) => n.hash === nodeHash);
    if (!crn) return { ccn, status: null, parent: null, health: null, error: `not in the registry of ${ccn}` };
    return { ccn, status: crn.status, parent: crn.parent, health: registry.resource_node_health?.[nodeHash]?.health ?? null };
  } catch (err) {
    return { ccn, status: null, parent: null, health: null, error: (err as Error).message };
  }
}
