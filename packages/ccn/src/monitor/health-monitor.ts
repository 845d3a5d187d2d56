/**
 * Probes each linked CRN on an interval (see probes.ts), records every probe in the store, and
 * keeps each CRN's health:
 * - `unknown` until its first round;
 * - `healthy` after a round whose health checks (version, login, status, usage) all passed;
 * - `down` after `failuresBeforeDown` failed rounds in a row. The scheduler is told at once and
 *   moves the CRN's workloads; a later passing round makes it `healthy` again (and the scheduler
 *   pushes it its new desired set, which no longer lists what was moved).
 * The diagnostic program probe is recorded (it is scored) but does not decide health: it is an
 * on-demand program whose cold start or own bugs say little about the CRN's persistent workloads.
 *
 * Rounds of one CRN never overlap: the next round starts `intervalMs` after the previous one
 * ended, so detecting a dead CRN takes at most failuresBeforeDown × (interval + probe timeout).
 */
import type { CrnSelfReport, SystemUsageAnswer } from '@aleph-nodes/protocol';
import { ServiceLoop, type Logger } from '@aleph-nodes/service';
import type { ProbesRepo } from '../db/probes-repo.ts';
import type { CrnCapacity, CrnHealth, CrnView } from '../scheduler/placement.ts';
import { HEALTH_CHECKS, probeRound, type ProbeResult, type ProbeSettings, type RoundResult } from './probes.ts';

export interface MonitorTarget {
  hash: string;
  url: string;
  owner: string;
}

export interface MonitorSettings extends ProbeSettings {
  intervalMs: number;
  failuresBeforeDown: number;
}

export interface CrnHealthStatus {
  hash: string;
  url: string;
  health: CrnHealth;
  consecutiveFailures: number;
  lastRoundAt: number | null;
  /** Failed checks of the last round, with their errors. */
  lastErrors: string[];
  version: string | null;
  capacity: CrnCapacity | null;
  downSince: number | null;
  /** What the CRN last said of itself (`/status/config`), for the CRN list; kept when a later read fails, as upstream's list does. */
  report: CrnSelfReport | null;
  /** Its last complete `/about/usage/system`. */
  systemUsage: SystemUsageAnswer | null;
  /** Unix seconds of the last round that read its report. */
  reportedAt: number | null;
}

interface TargetState extends CrnHealthStatus {
  owner: string;
  /** Its probe rounds, `intervalMs` apart. */
  loop: ServiceLoop;
  removed: boolean;
}

export type HealthChange = (hash: string, from: CrnHealth, to: CrnHealth) => void;

/** A round function (the real one, or a stand-in in unit tests). */
export type RoundFn = (url: string, settings: ProbeSettings) => Promise<RoundResult>;

export class HealthMonitor {
  readonly #probes: ProbesRepo;
  readonly #settings: MonitorSettings;
  readonly #log: Logger;
  readonly #onChange: HealthChange;
  readonly #round: RoundFn;
  readonly #targets = new Map<string, TargetState>();
  #state: 'idle' | 'running' | 'stopped' = 'idle';

  constructor(probes: ProbesRepo, settings: MonitorSettings, onChange: HealthChange, log: Logger, round: RoundFn = probeRound) {
    this.#probes = probes;
    this.#settings = settings;
    this.#onChange = onChange;
    this.#log = log;
    this.#round = round;
  }

  start(): void {
    if (this.#state !== 'idle') return;
    this.#state = 'running';
    for (const t of this.#targets.values()) t.loop.start();
  }

  async stop(): Promise<void> {
    this.#state = 'stopped';
    await Promise.allSettled([...this.#targets.values()].map((t) => t.loop.stop()));
  }

  /** The CRNs to probe (the linked ones); new ones are probed at once. */
  setTargets(targets: readonly MonitorTarget[]): void {
    const wanted = new Map(targets.map((t) => [t.hash, t]));
    for (const [hash, state] of this.#targets) {
      if (!wanted.has(hash)) {
        state.removed = true;
        void state.loop.stop();
        this.#targets.delete(hash);
      }
    }
    for (const t of targets) {
      const existing = this.#targets.get(t.hash);
      if (existing) {
        existing.url = t.url;
        existing.owner = t.owner;
        continue;
      }
      const state: TargetState = {
        hash: t.hash,
        url: t.url,
        owner: t.owner,
        health: 'unknown',
        consecutiveFailures: 0,
        lastRoundAt: null,
        lastErrors: [],
        version: null,
        capacity: null,
        downSince: null,
        report: null,
        systemUsage: null,
        reportedAt: null,
        loop: new ServiceLoop({ name: 'crn probes', log: this.#log.child({ crn: t.hash }), intervalMs: this.#settings.intervalMs, round: () => this.#runRound(state) }),
        removed: false,
      };
      this.#targets.set(t.hash, state);
      if (this.#state === 'running') state.loop.start();
    }
  }

  status(hash: string): CrnHealthStatus | undefined {
    const t = this.#targets.get(hash);
    if (!t) return undefined;
    return {
      hash: t.hash,
      url: t.url,
      health: t.health,
      consecutiveFailures: t.consecutiveFailures,
      lastRoundAt: t.lastRoundAt,
      lastErrors: [...t.lastErrors],
      version: t.version,
      capacity: t.capacity,
      downSince: t.downSince,
      report: t.report,
      systemUsage: t.systemUsage,
      reportedAt: t.reportedAt,
    };
  }

  /** The placement's view of a CRN (unknown health when not monitored). */
  view(target: MonitorTarget): CrnView {
    const t = this.#targets.get(target.hash);
    if (!t) return { hash: target.hash, url: target.url, owner: target.owner, health: 'unknown' };
    return {
      hash: t.hash,
      url: t.url,
      owner: t.owner,
      health: t.health,
      ...(t.health === 'down' ? { healthDetail: `${t.consecutiveFailures} failed probe rounds${t.lastErrors[0] ? `, last: ${t.lastErrors[0]}` : ''}` } : {}),
      capacity: t.capacity ?? undefined,
    };
  }

  async #runRound(t: TargetState): Promise<void> {
    let result: RoundResult;
    try {
      result = await this.#round(t.url, this.#settings);
    } catch (err) {
      this.#log.error({ err, crn: t.hash }, 'probe round failed unexpectedly');
      return;
    }
    if (t.removed || this.#state === 'stopped') return;
    await this.#record(t, result.probes);
    const failed = result.probes.filter((p) => HEALTH_CHECKS.has(p.check) && !p.ok);
    t.lastRoundAt = Date.now() / 1000;
    t.lastErrors = result.probes.filter((p) => !p.ok).map((p) => `${p.check}: ${p.error ?? 'failed'}`);
    if (result.version) t.version = result.version;
    if (result.report) {
      t.report = result.report;
      t.reportedAt = t.lastRoundAt;
    }
    if (result.systemUsage) t.systemUsage = result.systemUsage;
    const before = t.health;
    if (failed.length === 0) {
      t.consecutiveFailures = 0;
      if (result.capacity) t.capacity = result.capacity;
      t.health = 'healthy';
      t.downSince = null;
    } else {
      t.consecutiveFailures += 1;
      if (t.consecutiveFailures >= this.#settings.failuresBeforeDown && t.health !== 'down') {
        t.health = 'down';
        t.downSince = Date.now() / 1000;
      }
    }
    if (before !== t.health) {
      const level = t.health === 'down' ? 'warn' : 'info';
      this.#log[level]({ crn: t.hash, url: t.url, from: before, to: t.health, errors: t.lastErrors }, `CRN ${t.health}`);
      try {
        this.#onChange(t.hash, before, t.health);
      } catch (err) {
        this.#log.error({ err }, 'health change handler failed');
      }
    }
  }

  async #record(t: TargetState, probes: readonly ProbeResult[]): Promise<void> {
    try {
      await this.#probes.insert(
        probes.map((p) => ({
          node_hash: t.hash,
          check: p.check,
          time: p.time,
          latency: p.latency,
          ok: p.ok ? 1 : 0,
          version: p.version,
          error: p.error,
          url: t.url,
        })),
      );
    } catch (err) {
      // A probe that cannot be recorded must not stop the monitoring itself.
      this.#log.error({ err, crn: t.hash }, 'could not record probes');
    }
  }
}
