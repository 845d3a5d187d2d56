/**
 * Probes the public API of the core channel nodes the registry knows (this one included: in a
 * network of one CCN nobody else would measure it), every monitor interval, and records every
 * probe in the same table as the CRN probes. It decides nothing (no health, no failover): its
 * records only feed the published metrics and the scores.
 */
import { ServiceLoop, type Logger } from '@aleph-nodes/service';
import type { ProbesRepo } from '../db/probes-repo.ts';
import { probeCcn } from './ccn-probes.ts';

export interface PeerTarget {
  hash: string;
  url: string;
}

export interface PeerMonitorSettings {
  intervalMs: number;
  timeoutMs: number;
}

export class PeerMonitor {
  readonly #probes: ProbesRepo;
  readonly #settings: PeerMonitorSettings;
  readonly #targets: () => Promise<PeerTarget[]>;
  readonly #log: Logger;
  readonly #loop: ServiceLoop;

  constructor(probes: ProbesRepo, settings: PeerMonitorSettings, targets: () => Promise<PeerTarget[]>, log: Logger) {
    this.#probes = probes;
    this.#settings = settings;
    this.#targets = targets;
    this.#log = log;
    // A failed round (registry unreadable, database busy) is logged by the loop and the
    // monitoring goes on at the next interval.
    this.#loop = new ServiceLoop({
      name: 'CCN probes',
      log,
      intervalMs: settings.intervalMs,
      backoff: { baseMs: settings.intervalMs, maxMs: settings.intervalMs },
      round: ({ signal }) => this.#round(signal),
    });
  }

  start(): void {
    this.#loop.start();
  }

  async stop(): Promise<void> {
    await this.#loop.stop();
  }

  async #round(signal: AbortSignal): Promise<void> {
    const targets = await this.#targets();
    await Promise.all(
      targets.map(async (t) => {
        const results = await probeCcn(t.url, this.#settings.timeoutMs);
        if (signal.aborted) return;
        await this.#probes.insert(results.map((p) => ({ node_hash: t.hash, check: p.check, time: p.time, latency: p.latency, ok: p.ok ? 1 : 0, version: p.version, error: p.error, url: t.url })));
      }),
    );
  }
}
