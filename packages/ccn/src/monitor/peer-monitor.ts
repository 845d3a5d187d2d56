/**
 * Probes the public API of the core channel nodes the registry knows (this one included: in a
 * network of one CCN nobody else would measure it), every monitor interval, and records every
 * probe in the same table as the CRN probes. It decides nothing (no health, no failover): its
 * records only feed the published metrics and the scores.
 */
import type { Logger } from '@aleph-nodes/service';
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
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #state: 'idle' | 'running' | 'stopped' = 'idle';

  constructor(probes: ProbesRepo, settings: PeerMonitorSettings, targets: () => Promise<PeerTarget[]>, log: Logger) {
    this.#probes = probes;
    this.#settings = settings;
    this.#targets = targets;
    this.#log = log;
  }

  start(): void {
    if (this.#state !== 'idle') return;
    this.#state = 'running';
    this.#schedule(0);
  }

  async stop(): Promise<void> {
    this.#state = 'stopped';
    if (this.#timer) clearTimeout(this.#timer);
    await this.#running;
  }

  #schedule(delayMs: number): void {
    if (this.#state !== 'running') return;
    this.#timer = setTimeout(() => {
      this.#running = this.#round().finally(() => {
        this.#running = undefined;
        this.#schedule(this.#settings.intervalMs);
      });
    }, delayMs);
    this.#timer.unref();
  }

  async #round(): Promise<void> {
    try {
      const targets = await this.#targets();
      await Promise.all(
        targets.map(async (t) => {
          const results = await probeCcn(t.url, this.#settings.timeoutMs);
          if (this.#state === 'stopped') return;
          await this.#probes.insert(results.map((p) => ({ node_hash: t.hash, check: p.check, time: p.time, latency: p.latency, ok: p.ok ? 1 : 0, version: p.version, error: p.error, url: t.url })));
        }),
      );
    } catch (err) {
      // A failed round (registry unreadable, database busy) must not stop the monitoring.
      this.#log.error({ err }, 'CCN probe round failed');
    }
  }
}
