/**
 * What a monitor measured of one node at one moment: the latencies of its checks (seconds,
 * null when the check failed) and the version it announced. Scores are pure functions of these,
 * so anyone holding the published metrics messages can recompute them.
 */
export interface Measurement {
  /** Unix seconds of the probe. */
  time: number;
  /** Latency per check name, in seconds; null when the check failed or timed out. */
  latencies: Readonly<Record<string, number | null>>;
  /** The version the node announced, or null when it announced none. */
  version: string | null;
}

/** One scored sub-metric: a latency percentile divided by what counts as "too slow". */
export interface SubScoreSpec {
  check: string;
  percentile: number;
  /** Seconds at which the sub-score reaches 0. */
  divisor: number;
}

/**
 * CRN sub-scores, as the network's public scoring code defines them: base latency p25 and p95
 * over 2 s, the diagnostic program p25 over 2.5 s, the full check p25 over 4 s.
 */
export const CRN_SUBSCORES: readonly SubScoreSpec[] = [
  { check: 'base_latency', percentile: 0.25, divisor: 2 },
  { check: 'base_latency', percentile: 0.95, divisor: 2 },
  { check: 'diagnostic_vm_latency', percentile: 0.25, divisor: 2.5 },
  { check: 'full_check_latency', percentile: 0.25, divisor: 4 },
];

/**
 * CCN sub-scores: the public info route (the reference's base latency probe) p25 and p95 over
 * 2 s, and a message-list query p25 over 2.5 s (our choice: it is what users and CRNs call).
 */
export const CCN_SUBSCORES: readonly SubScoreSpec[] = [
  { check: 'base_latency', percentile: 0.25, divisor: 2 },
  { check: 'base_latency', percentile: 0.95, divisor: 2 },
  { check: 'api_latency', percentile: 0.25, divisor: 2.5 },
];

/** A failed or missing check counts as this many seconds (as the reference does). */
export const MISSING_LATENCY_SECONDS = 100;

/**
 * The sub-scores some measurement carries a value (or a failure) for. A check the monitor does
 * not run at all (e.g. no diagnostic program is configured) has no key in any measurement and is
 * left out, rather than counted as 100 s for every node.
 */
export function measuredSubscores(specs: readonly SubScoreSpec[], measurements: readonly Measurement[]): SubScoreSpec[] {
  return specs.filter((s) => measurements.some((m) => Object.hasOwn(m.latencies, s.check)));
}

/**
 * Version validity without a release list (offline networks): the node announced a
 * `<major>.<minor>.<patch>` version. The reference also requires a current, prerelease or
 * less than 14 days outdated release; that needs the release feed, left out here.
 */
export function isAnnouncedVersion(version: string | null): boolean {
  return version !== null && /^\d+\.\d+\.\d+/.test(version);
}

/** Share of the worst hours left out of a period's performance. */
export const DROP_WORST_HOURS_FRACTION = 0.05;
