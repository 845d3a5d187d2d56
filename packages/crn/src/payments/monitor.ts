/**
 * The payment monitor (aleph-vm's `check_payment`, every `paymentMonitorIntervalSeconds`): one
 * pass reads each live workload's message state (one GET each, a few in flight), then per owner
 * one balance and/or flows read and the cached prices, and decides (decisions.ts). A workload
 * found unpaid `confirmations` passes in a row is stopped (`stopUnpaid`); a paid answer resets its
 * count, and an answer the CCN could not give (network error, 5xx) changes nothing: a CCN that does
 * not answer never stops anything. Other owners are never affected by one owner's shortfall.
 *
 * With payments enforced this also replaces the message status poll (status-monitor.ts): the
 * state read here carries the status, so forgotten and rejected messages are retired from here.
 */
import { ServiceLoop, type Logger } from '@aleph-nodes/service';
import { nowMs } from './clock.ts';
import { byStart, ownerKey, type PaidWorkload, type PaymentChecker } from './checker.ts';
import { statusVerdict, type Verdict } from './decisions.ts';

export interface MonitorTarget {
  /** The live workloads (exempt ones are skipped here). */
  workloads(): PaidWorkload[];
  /** Stops `ref` whose payment lapsed (confirmed); the verdict says why. */
  stopUnpaid(ref: string, owner: string, verdict: Extract<Verdict, { kind: 'unpaid' }>): Promise<void>;
}

export interface MonitorOptions {
  /** Consecutive unpaid verdicts before a stop (aleph-vm: 3). */
  confirmations: number;
  /** CCN requests in flight during a pass. */
  concurrency?: number;
}

export interface PassReport {
  workloads: number;
  owners: number;
  paid: number;
  unpaid: number;
  unknown: number;
  stopped: string[];
  wallMs: number;
}

/** Runs `fn` over `items` with at most `limit` in flight. */
async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

export class PaymentMonitor {
  readonly #strikes = new Map<string, number>();
  readonly #reportedRemoving = new Set<string>();
  #loop: ServiceLoop | undefined;
  #running = false;

  constructor(
    private readonly checker: PaymentChecker,
    private readonly target: MonitorTarget,
    private readonly options: MonitorOptions,
    private readonly logger: Logger,
  ) {}

  /** A pass every `intervalSeconds` (the first one interval after the start); 0 = never. */
  start(intervalSeconds: number): void {
    if (this.#loop) throw new Error('the payment monitor is already started');
    if (intervalSeconds <= 0) return;
    const every = intervalSeconds * 1000;
    this.#loop = new ServiceLoop({
      name: 'payment monitor',
      log: this.logger,
      intervalMs: every,
      initialDelayMs: every,
      backoff: { baseMs: every, maxMs: every },
      round: async () => void (await this.pass()),
    });
    this.#loop.start();
  }

  /** Stops the passes; resolves once the one in flight (and the stops it decided) ended. */
  async close(): Promise<void> {
    await this.#loop?.stop();
  }

  /** One pass over the live workloads; overlapping calls return an empty report. */
  async pass(): Promise<PassReport> {
    const started = nowMs();
    const report: PassReport = { workloads: 0, owners: 0, paid: 0, unpaid: 0, unknown: 0, stopped: [], wallMs: 0 };
    if (this.#running) return report;
    this.#running = true;
    try {
      const workloads = this.target.workloads().filter((w) => !this.checker.isExempt(w.ref));
      report.workloads = workloads.length;
      const verdicts = await this.#decide(workloads, (n) => (report.owners = n));
      for (const w of [...workloads].sort(byStart).reverse()) {
        const verdict = verdicts.get(w.ref) ?? { kind: 'unknown', why: 'no verdict' };
        report[verdict.kind]++;
        if (await this.#apply(w, verdict)) report.stopped.push(w.ref);
      }
      const live = new Set(workloads.map((w) => w.ref));
      for (const ref of [...this.#strikes.keys()]) if (!live.has(ref)) this.#strikes.delete(ref);
      for (const ref of [...this.#reportedRemoving]) if (!live.has(ref)) this.#reportedRemoving.delete(ref);
    } finally {
      this.#running = false;
    }
    report.wallMs = nowMs() - started;
    return report;
  }

  async #decide(workloads: readonly PaidWorkload[], owners: (n: number) => void): Promise<Map<string, Verdict>> {
    const concurrency = this.options.concurrency ?? 16;
    const verdicts = new Map<string, Verdict>();
    // 1. Message states, one read each (fresh: every confirmation must be an answer of the CCN).
    await eachLimited(workloads, concurrency, async (w) => {
      try {
        verdicts.set(w.ref, statusVerdict(await this.checker.messageState(w.ref)));
      } catch (err) {
        verdicts.set(w.ref, { kind: 'unknown', why: `the CCN did not answer: ${(err as Error).message}` });
      }
    });
    // 2. Per owner, the workloads whose message still stands (not `removing`: in the CCN's grace,
    // judged by the CCN already): one account read, cached prices.
    const byOwner = new Map<string, { owner: string; items: PaidWorkload[] }>();
    for (const w of workloads) {
      const status = verdicts.get(w.ref);
      if (status?.kind !== 'paid' || status.note !== undefined) continue;
      const key = ownerKey(w.owner);
      let entry = byOwner.get(key);
      if (!entry) byOwner.set(key, (entry = { owner: w.owner, items: [] }));
      entry.items.push(w);
    }
    owners(byOwner.size);
    await eachLimited([...byOwner.values()], concurrency, async ({ owner, items }) => {
      // Credits: aleph-vm's monitor rule (not exhausted: one second of use), not the start's hour.
      const payment = await this.checker.ownerVerdicts(owner, items, 0, 1);
      for (const w of items) verdicts.set(w.ref, payment.get(w.ref) ?? { kind: 'unknown', why: 'no verdict' });
    });
    return verdicts;
  }

  /** Records the verdict; true when it stopped the workload. */
  async #apply(w: PaidWorkload, verdict: Verdict): Promise<boolean> {
    this.checker.record(w.ref, verdict);
    if (verdict.kind === 'unknown') return false;
    if (verdict.kind === 'paid') {
      this.#strikes.delete(w.ref);
      if (verdict.note === 'message_removing' && !this.#reportedRemoving.has(w.ref)) {
        this.#reportedRemoving.add(w.ref);
        this.logger.warn({ ref: w.ref, owner: w.owner, detail: verdict.note }, 'the CCN is removing this message (payment short): it runs until removed');
      } else if (verdict.note === undefined) this.#reportedRemoving.delete(w.ref);
      return false;
    }
    const strikes = (this.#strikes.get(w.ref) ?? 0) + 1;
    this.#strikes.set(w.ref, strikes);
    if (strikes < this.options.confirmations) {
      this.logger.info({ ref: w.ref, owner: w.owner, detail: verdict.detail, strikes, confirmations: this.options.confirmations }, 'payment short (not yet confirmed)');
      return false;
    }
    this.#strikes.delete(w.ref);
    this.logger.warn(
      { execution: w.ref, owner: w.owner, reason: 'payment_lapsed', detail: verdict.detail, why: verdict.reason },
      `payment lapsed: stopping execution ${w.ref} of ${w.owner} (${verdict.detail})`,
    );
    try {
      await this.target.stopUnpaid(w.ref, w.owner, verdict);
    } catch (err) {
      this.logger.error({ ref: w.ref, err: (err as Error).message }, 'stopping an unpaid execution failed');
      return false;
    }
    return true;
  }
}
