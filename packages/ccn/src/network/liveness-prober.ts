/**
 * Direct probes of the CRNs of CCNs that went silent. A CCN that is down no longer reports its
 * CRNs, so before its workloads are adopted elsewhere every other CCN checks for itself whether
 * each such CRN still runs them: `GET /about/executions/list` (public, the running executions by
 * item hash). Probing starts when the CCN is suspect (half of `ccnDownAfterSeconds` silent), so
 * that by the time it is down the CRN's state is mostly known.
 *
 * A workload is `gone` from its CRN after `failuresBeforeGone` rounds in a row in which the CRN
 * did not answer or did not list it, `running` when a round among those listed it, `unknown`
 * before enough rounds (nobody adopts it then: it may still run).
 */
import { ServiceLoop, type Logger } from '@aleph-nodes/service';
import { z } from 'zod';
import type { OrphanState } from '../scheduler/ownership.ts';

export interface ProberSettings {
  intervalMs: number;
  timeoutMs: number;
  failuresBeforeGone: number;
}

/** One round: the item hashes running on the CRN, or null when it did not answer properly. */
export type ListFn = (url: string, timeoutMs: number) => Promise<Set<string> | null>;

const MAX_LIST_BYTES = 4 * 1024 * 1024;
const ListSchema = z.record(z.string().max(128), z.unknown());

/** The real round: the CRN's public execution list, bounded in size. */
export async function listExecutions(url: string, timeoutMs: number): Promise<Set<string> | null> {
  try {
    const res = await fetch(`${url.replace(/\/+$/, '')}/about/executions/list`, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
    if (res.status !== 200) {
      await res.body?.cancel();
      return null;
    }
    const length = Number(res.headers.get('content-length') ?? '0');
    if (length > MAX_LIST_BYTES) {
      await res.body?.cancel();
      return null;
    }
    const text = await res.text();
    if (text.length > MAX_LIST_BYTES) return null;
    const parsed = ListSchema.safeParse(JSON.parse(text));
    return parsed.success ? new Set(Object.keys(parsed.data)) : null;
  } catch {
    return null;
  }
}

interface Target {
  url: string;
  /** The last rounds, newest last: the running set, or null for a failed round. */
  rounds: (Set<string> | null)[];
  /** Its rounds: the next starts an interval after one ended, so they never overlap. */
  loop: ServiceLoop;
}

export class OrphanProber {
  readonly #settings: ProberSettings;
  readonly #list: ListFn;
  readonly #onChange: () => void;
  readonly #log: Logger;
  readonly #targets = new Map<string, Target>();
  #stopped = false;

  constructor(settings: ProberSettings, onChange: () => void, log: Logger, list: ListFn = listExecutions) {
    this.#settings = settings;
    this.#onChange = onChange;
    this.#log = log;
    this.#list = list;
  }

  /** The CRNs to probe now (hash → URL); others are dropped with what was learnt of them. */
  setTargets(targets: ReadonlyMap<string, string>): void {
    if (this.#stopped) return;
    for (const [hash, t] of this.#targets) {
      if (targets.get(hash) === t.url) continue;
      void t.loop.stop();
      this.#targets.delete(hash);
    }
    for (const [hash, url] of targets) {
      if (this.#targets.has(hash)) continue;
      const every = this.#settings.intervalMs;
      const t: Target = {
        url,
        rounds: [],
        loop: new ServiceLoop({ name: 'orphan probes', log: this.#log.child({ crn: hash }), intervalMs: every, backoff: { baseMs: every, maxMs: every }, round: () => this.#round(hash, t) }),
      };
      this.#targets.set(hash, t);
      this.#log.info({ crn: hash, url }, 'probing a CRN of a silent CCN');
      t.loop.start();
    }
  }

  state(crnHash: string, itemHash: string): OrphanState {
    const t = this.#targets.get(crnHash);
    if (!t) return 'unknown';
    const n = this.#settings.failuresBeforeGone;
    const recent = t.rounds.slice(-n);
    if (recent.some((r) => r?.has(itemHash))) return 'running';
    return recent.length >= n ? 'gone' : 'unknown';
  }

  /** A probed CRN whose last round lists `itemHash` running. */
  runningAnywhere(itemHash: string): string | undefined {
    for (const [hash, t] of this.#targets) if (t.rounds.at(-1)?.has(itemHash)) return hash;
    return undefined;
  }

  /** For the observability route: each probed CRN and its last rounds. */
  status(): { crn: string; url: string; rounds: number; answered: boolean | null; running: string[] }[] {
    return [...this.#targets].map(([crn, t]) => {
      const last = t.rounds.at(-1);
      return { crn, url: t.url, rounds: t.rounds.length, answered: last === undefined ? null : last !== null, running: last ? [...last] : [] };
    });
  }

  /** Stops every target's rounds; resolves once those in flight ended. */
  async stop(): Promise<void> {
    this.#stopped = true;
    const loops = [...this.#targets.values()].map((t) => t.loop.stop());
    this.#targets.clear();
    await Promise.all(loops);
  }

  async #round(hash: string, t: Target): Promise<void> {
    if (this.#stopped || this.#targets.get(hash) !== t) return;
    const before = this.#summary(t);
    const running = await this.#list(t.url, this.#settings.timeoutMs);
    if (this.#targets.get(hash) !== t) return;
    t.rounds.push(running);
    if (t.rounds.length > this.#settings.failuresBeforeGone) t.rounds.shift();
    if (this.#summary(t) !== before) this.#onChange();
  }

  /** What the rule can read from the target: changes only when a state may change. */
  #summary(t: Target): string {
    return JSON.stringify(t.rounds.map((r) => (r ? [...r].sort() : null)));
  }
}
