/**
 * Performance: per hour, the geometric mean of the sub-scores `max(0, 1 − percentile/divisor)`;
 * an hour in which the node announced an invalid version, or none at all, scores 0. The period's performance is
 * the mean of its hourly scores after the worst hours are dropped (a node is not ruined by one
 * bad hour of maintenance), and its version score is the share of hours on a valid version.
 */
import { MISSING_LATENCY_SECONDS, type Measurement, type SubScoreSpec } from './measurements.ts';
import { percentileDisc } from './percentile.ts';

export interface PerformanceOptions {
  subscores: readonly SubScoreSpec[];
  /** Whether a version string is an accepted release. */
  isValidVersion(version: string | null): boolean;
  /** Share of the worst hours left out of the mean (rounded down; at least one hour is kept). */
  dropWorstHoursFraction: number;
}

export function subScore(latencies: readonly (number | null)[], spec: SubScoreSpec): number {
  const values = latencies.map((v) => (v === null || !Number.isFinite(v) ? MISSING_LATENCY_SECONDS : v));
  return Math.max(0, 1 - percentileDisc(values, spec.percentile) / spec.divisor);
}

export function geometricMean(values: readonly number[]): number {
  if (values.length === 0) return 0;
  if (values.some((v) => v <= 0)) return 0;
  return Math.exp(values.reduce((sum, v) => sum + Math.log(v), 0) / values.length);
}

/** Performance of one set of measurements (no version rule). */
export function measurementsPerformance(measurements: readonly Measurement[], subscores: readonly SubScoreSpec[]): number {
  if (measurements.length === 0) return 0;
  return geometricMean(subscores.map((spec) => subScore(measurements.map((m) => m.latencies[spec.check] ?? null), spec)));
}

export interface HourScore {
  hour: number;
  performance: number;
  validVersion: boolean;
}

export function hourlyScores(measurements: readonly Measurement[], opts: PerformanceOptions): HourScore[] {
  const byHour = new Map<number, Measurement[]>();
  for (const m of measurements) {
    const hour = Math.floor(m.time / 3600);
    const list = byHour.get(hour);
    if (list) list.push(m);
    else byHour.set(hour, [m]);
  }
  return [...byHour.entries()]
    .sort(([a], [b]) => a - b)
    .map(([hour, list]) => {
      // A probe that got no version (the node did not answer) is a missing measurement, already
      // counted by the latencies; the hour is on a valid version when the node announced some
      // version and every version it announced is valid.
      const announced = list.filter((m) => m.version !== null);
      const validVersion = announced.length > 0 && announced.every((m) => opts.isValidVersion(m.version));
      return { hour, validVersion, performance: validVersion ? measurementsPerformance(list, opts.subscores) : 0 };
    });
}

export interface PeriodPerformance {
  performance: number;
  version: number;
  hours: number;
  droppedHours: number;
}

export function periodPerformance(measurements: readonly Measurement[], opts: PerformanceOptions): PeriodPerformance {
  const hours = hourlyScores(measurements, opts);
  if (hours.length === 0) return { performance: 0, version: 0, hours: 0, droppedHours: 0 };
  const dropped = Math.min(hours.length - 1, Math.floor(hours.length * opts.dropWorstHoursFraction));
  const kept = hours.map((h) => h.performance).sort((a, b) => a - b).slice(dropped);
  return {
    performance: kept.reduce((s, v) => s + v, 0) / kept.length,
    version: hours.filter((h) => h.validVersion).length / hours.length,
    hours: hours.length,
    droppedHours: dropped,
  };
}
