/**
 * Scores of a period computed only from `aleph-network-metrics` posts (so anyone holding the
 * posts recomputes the same scores), with packages/scoring's formulas:
 * - only posts from a monitor count; any other sender's post is ignored with a reason;
 * - only entries measured within [from, to) count; entries of nodes the registry does not know
 *   (as a CCN or a CRN respectively) are skipped with a reason;
 * - per node: hourly performance with the worst hours dropped, the version share, total score
 *   `sqrt(performance × version)`; decentralization from the networks (ASN) the entries report;
 * - only nodes measured in the period get a score (a monitor does not judge what it did not see).
 */
import {
  CCN_SUBSCORES,
  CRN_SUBSCORES,
  decentralizationScores,
  DROP_WORST_HOURS_FRACTION,
  isAnnouncedVersion,
  measuredSubscores,
  scoreNode,
  type Measurement,
  type NodeScore,
  type SubScoreSpec,
} from '@aleph-nodes/scoring';

export const SCORES_POST_TYPE = 'aleph-scoring-scores';
export const NOT_A_MONITOR = 'Metrics from an address that is not a monitor';

export interface MetricsPost {
  itemHash: string;
  sender: string;
  content: unknown;
}

export interface ScoresContent {
  version: '1.1';
  tags: string[];
  period: { from_date: number; to_date: number };
  scores: { ccn: NodeScore[]; crn: NodeScore[] };
}

export interface ScoresComputation {
  content: ScoresContent;
  /** What was left out, and why (logged by the caller). */
  ignored: { item_hash: string; node_id?: string; reason: string }[];
}

interface Collected {
  measurements: Measurement[];
  asn: string | null;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function measurementOf(entry: Record<string, unknown>): Measurement | undefined {
  const time = entry.measured_at;
  if (typeof time !== 'number' || !Number.isFinite(time)) return undefined;
  const latencies: Record<string, number | null> = {};
  for (const name of ['base_latency', 'full_check_latency', 'diagnostic_vm_latency', 'api_latency']) {
    if (!Object.hasOwn(entry, name)) continue;
    const v = entry[name];
    latencies[name] = typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : null;
  }
  return { time, latencies, version: typeof entry.version === 'string' ? entry.version : null };
}

function scoreKind(nodes: Map<string, Collected>, specs: readonly SubScoreSpec[]): NodeScore[] {
  const all = [...nodes.values()].flatMap((n) => n.measurements);
  const subscores = measuredSubscores(specs, all);
  const networks = new Map([...nodes].map(([id, n]) => [id, n.asn]));
  const decentralization = decentralizationScores(networks);
  return [...nodes.keys()]
    .sort()
    .map((id) =>
      scoreNode(id, (nodes.get(id) as Collected).measurements, decentralization.get(id) ?? 0, {
        subscores,
        isValidVersion: isAnnouncedVersion,
        dropWorstHoursFraction: DROP_WORST_HOURS_FRACTION,
      }),
    );
}

export function computeScores(
  posts: readonly MetricsPost[],
  opts: { monitors: readonly string[]; knownCcns: ReadonlySet<string>; knownCrns: ReadonlySet<string>; from: number; to: number; tag: string },
): ScoresComputation {
  const monitors = new Set(opts.monitors.map((a) => a.toLowerCase()));
  const ignored: ScoresComputation['ignored'] = [];
  const kinds = { ccn: new Map<string, Collected>(), crn: new Map<string, Collected>() };
  const unknown = new Set<string>();
  for (const post of [...posts].sort((a, b) => (a.itemHash < b.itemHash ? -1 : 1))) {
    if (!monitors.has(post.sender.toLowerCase())) {
      ignored.push({ item_hash: post.itemHash, reason: `${NOT_A_MONITOR} (${post.sender})` });
      continue;
    }
    const metrics = isObject(post.content) && isObject(post.content.metrics) ? post.content.metrics : undefined;
    if (!metrics) {
      ignored.push({ item_hash: post.itemHash, reason: 'the post has no metrics object' });
      continue;
    }
    for (const kind of ['ccn', 'crn'] as const) {
      const known = kind === 'ccn' ? opts.knownCcns : opts.knownCrns;
      const list = Array.isArray(metrics[kind]) ? (metrics[kind] as unknown[]) : [];
      for (const entry of list) {
        if (!isObject(entry) || typeof entry.node_id !== 'string') continue;
        const m = measurementOf(entry);
        if (!m || m.time < opts.from || m.time >= opts.to) continue;
        if (!known.has(entry.node_id)) {
          const key = `${kind} ${entry.node_id}`;
          if (!unknown.has(key)) ignored.push({ item_hash: post.itemHash, node_id: entry.node_id, reason: `no score for an unknown node (${kind} ${entry.node_id} is not in the registry)` });
          unknown.add(key);
          continue;
        }
        const collected = kinds[kind].get(entry.node_id) ?? { measurements: [], asn: null };
        collected.measurements.push(m);
        if (entry.asn !== null && entry.asn !== undefined) collected.asn = String(entry.asn);
        kinds[kind].set(entry.node_id, collected);
      }
    }
  }
  return {
    content: {
      version: '1.1',
      tags: opts.tag ? [opts.tag] : [],
      period: { from_date: opts.from, to_date: opts.to },
      scores: { ccn: scoreKind(kinds.ccn, CCN_SUBSCORES), crn: scoreKind(kinds.crn, CRN_SUBSCORES) },
    },
    ignored,
  };
}
