/**
 * The content of an `aleph-network-metrics` post (aleph-protocol.md §8.4) built from recorded probe rows:
 * `{version: "1.0", tags, period, metrics: {server, server_asn, server_as_name, ccn: [...], crn: [...]}}`.
 * One entry per probe round of a node: `node_id`, `url`, `measured_at`, the scored latencies in
 * seconds (`null` = the check failed; absent = not probed), the `version` seen, the node's network
 * (`asn`, `as_name`: null, no offline lookup) and every check's pass/fail, latency and error.
 * `period` (our addition) says which probe times the post covers.
 */
import type { ProbeRow } from '../db/probes-repo.ts';
import { CCN_CHECK_PREFIX } from '../monitor/ccn-probes.ts';

export const METRICS_POST_TYPE = 'aleph-network-metrics';
export const SCORING_CHANNEL = 'aleph-scoring';

export interface CheckRecord {
  ok: boolean;
  latency: number | null;
  error: string | null;
}

export interface MetricsEntry {
  node_id: string;
  url: string;
  measured_at: number;
  version: string | null;
  asn: number | null;
  as_name: string | null;
  /** Scored latencies (seconds, null = failed), keyed by the scoring package's check names. */
  [latency: string]: unknown;
  checks: Record<string, CheckRecord>;
}

export interface MetricsContent {
  version: '1.0';
  tags: string[];
  period: { from_date: number; to_date: number };
  metrics: { server: string; server_asn: number | null; server_as_name: string | null; ccn: MetricsEntry[]; crn: MetricsEntry[] };
}

/** Probe check → scored latency name (packages/scoring CRN_SUBSCORES / CCN_SUBSCORES). */
const CRN_LATENCIES: Record<string, string> = { login: 'base_latency', status: 'full_check_latency', diagnostic: 'diagnostic_vm_latency' };
const CCN_LATENCIES: Record<string, string> = { ccn_info: 'base_latency', ccn_api: 'api_latency' };
const VERSION_CHECKS = new Set(['version', 'ccn_version']);

const round6 = (v: number): number => Math.round(v * 1e6) / 1e6;

/**
 * Splits one node's probes (oldest first) into rounds: a round ends where a check repeats, since
 * a round probes each check once.
 */
function rounds(rows: readonly ProbeRow[]): ProbeRow[][] {
  const out: ProbeRow[][] = [];
  let current: ProbeRow[] = [];
  for (const row of rows) {
    if (current.some((r) => r.check === row.check)) {
      out.push(current);
      current = [];
    }
    current.push(row);
  }
  if (current.length > 0) out.push(current);
  return out;
}

function entryOf(nodeId: string, round: readonly ProbeRow[], latencyNames: Record<string, string>): MetricsEntry {
  const checks: Record<string, CheckRecord> = {};
  const latencies: Record<string, number | null> = {};
  let version: string | null = null;
  for (const p of [...round].sort((a, b) => (a.check < b.check ? -1 : 1))) {
    const latency = p.latency === null ? null : round6(p.latency);
    checks[p.check] = { ok: p.ok === 1, latency, error: p.error };
    const name = latencyNames[p.check];
    if (name) latencies[name] = p.ok === 1 ? latency : null;
    if (VERSION_CHECKS.has(p.check) && p.ok === 1) version = p.version;
  }
  return {
    node_id: nodeId,
    url: round[0]?.url ?? '',
    measured_at: round6(Math.min(...round.map((p) => p.time))),
    version,
    asn: null,
    as_name: null,
    ...latencies,
    checks,
  };
}

/** The metrics content of the probes in `rows` (any order), for the window [from, to). */
export function buildMetricsContent(rows: readonly ProbeRow[], opts: { server: string; tag: string; from: number; to: number }): MetricsContent {
  const byNode = new Map<string, ProbeRow[]>();
  for (const r of [...rows].sort((a, b) => a.time - b.time || (a.check < b.check ? -1 : 1))) {
    const list = byNode.get(r.node_hash);
    if (list) list.push(r);
    else byNode.set(r.node_hash, [r]);
  }
  const ccn: MetricsEntry[] = [];
  const crn: MetricsEntry[] = [];
  for (const [node, list] of [...byNode].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const isCcn = list.some((r) => r.check.startsWith(CCN_CHECK_PREFIX));
    for (const round of rounds(list)) (isCcn ? ccn : crn).push(entryOf(node, round, isCcn ? CCN_LATENCIES : CRN_LATENCIES));
  }
  return {
    version: '1.0',
    tags: opts.tag ? [opts.tag] : [],
    period: { from_date: opts.from, to_date: opts.to },
    metrics: { server: opts.server, server_asn: null, server_as_name: null, ccn, crn },
  };
}
