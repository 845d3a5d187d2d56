/**
 * The periodic payment job (pyaleph `jobs/cron/balance_job.py` and
 * `credit_balance_job.py`). It runs at each payment BOUNDARY, a multiple of
 * `paymentCheckIntervalSeconds` in unix time, and judges the state AT that boundary, so CCNs with
 * the same messages and the same setting decide the same things at the same instants:
 *
 * 1. credit consumption: each held (processed or removing) credit-paid message consumes
 *    `creditPerSecond` from its content time; one `credit_consumption` row per boundary with the
 *    cumulative floor(rate × (boundary − start)) (credits are integers), back-filled for boundaries
 *    this node missed (at most MAX_BACKFILL per message and run, then one row at the boundary);
 * 2. credits: per owner, its credit balance at the boundary (lots FIFO, expiry), its credit-paid
 *    messages in the total order (oldest first, as pyaleph's cost order): a message is kept while
 *    credits remain (> 0) and reserves one period of its consumption; when none remain it goes
 *    `removing` with reason `credit_insufficient` (the issue: "at zero");
 * 3. hold: per owner, its token balance, its hold-paid messages oldest first: a message the
 *    remaining balance does not cover goes `removing` with `balance_insufficient` (pyaleph);
 * 4. a `removing` message covered again (top-up) goes back to `processed`; one whose deadline
 *    (`removing_at` = boundary + `removingGraceSeconds`) has come is `removed`: a STORE's file is
 *    unpinned for the garbage collection, an executable leaves the scheduler's placements (its
 *    CRN is pushed a set without it and stops it).
 *
 * What stays tied to each node's clock: whether it ran at a given boundary (a node that was down
 * judges only the latest one, so its `removing_since` may be later), and the token balance read
 * at run time (balances are absolute reports, order-independent once they have arrived).
 */
import { Dec } from '@aleph-nodes/protocol';
import { ServiceLoop, type Logger } from '@aleph-nodes/service';
import type { CcnConfig } from '../config.ts';
import type { MessageRemovalsTable } from '../db/schema.ts';
import type { Repos, Stores } from '../stores.ts';
import { consumedUntil } from './credits.ts';
import type { CostRow } from './repo.ts';

/** Boundaries back-filled per message per run before jumping to the current one. */
export const MAX_BACKFILL = 1000;

export type JobSettings = Pick<CcnConfig, 'paymentCheckIntervalSeconds' | 'removingGraceSeconds' | 'paymentChecks'>;

export interface JobReport {
  boundary: number;
  consumptionRows: number;
  removing: string[];
  restored: string[];
  removed: string[];
}

/** The last payment boundary at or before `now`. */
export function boundaryOf(now: number, interval: number): number {
  return Math.floor(now / interval) * interval;
}

/** Records credit consumption up to `boundary` for every held credit-paid message of `owner`. */
async function consume(repos: Repos, owner: string, boundary: number, interval: number): Promise<number> {
  let rows = 0;
  for (const cost of await repos.payments.heldCosts(owner, 'credit')) {
    const last = await repos.payments.lastConsumption(cost.item_hash);
    let previous = last?.cumulative ?? 0;
    let next = last ? last.boundary + interval : boundaryOf(cost.time, interval) + interval;
    if ((boundary - next) / interval > MAX_BACKFILL) next = boundary;
    for (; next <= boundary; next += interval) {
      const cumulative = consumedUntil(cost.credit_per_second, cost.time, next);
      await repos.payments.addConsumption({ item_hash: cost.item_hash, boundary: next, address_lc: owner, amount: cumulative - previous, cumulative });
      previous = cumulative;
      rows++;
    }
  }
  return rows;
}

/** Which held messages the owner's funds no longer cover, oldest kept first. */
export function uncovered(costs: readonly CostRow[], funds: Dec, kind: 'hold' | 'credit', interval: number): Set<string> {
  const out = new Set<string>();
  let remaining = funds;
  for (const c of costs) {
    if (kind === 'hold') {
      if (remaining.lt(c.hold)) out.add(c.item_hash);
      remaining = Dec.max(0, remaining.minus(c.hold));
    } else {
      if (remaining.lte(0)) out.add(c.item_hash);
      remaining = Dec.max(0, remaining.minus(new Dec(c.credit_per_second).times(interval)));
    }
  }
  return out;
}

async function judgeOwner(repos: Repos, owner: string, kind: 'hold' | 'credit', boundary: number, settings: JobSettings, report: JobReport): Promise<void> {
  const costs = await repos.payments.heldCosts(owner, kind);
  const funds = kind === 'hold' ? new Dec((await repos.balances.of(owner)).total) : new Dec(await repos.payments.creditBalance(owner, boundary));
  const lapsed = uncovered(costs, funds, kind, settings.paymentCheckIntervalSeconds);
  const reason: MessageRemovalsTable['reason'] = kind === 'hold' ? 'balance_insufficient' : 'credit_insufficient';
  for (const c of costs) {
    if (lapsed.has(c.item_hash) && c.status === 'processed') {
      if (await repos.payments.setStatus(c.item_hash, ['processed'], 'removing')) {
        await repos.payments.setRemoval({ item_hash: c.item_hash, reason, removing_since: boundary, removing_at: boundary + settings.removingGraceSeconds, removed_at: null });
        report.removing.push(c.item_hash);
      }
    } else if (!lapsed.has(c.item_hash) && c.status === 'removing') {
      if (await repos.payments.setStatus(c.item_hash, ['removing'], 'processed')) {
        await repos.payments.clearRemoval(c.item_hash);
        report.restored.push(c.item_hash);
      }
    }
  }
}

/** Ends the grace of `removing` messages whose deadline has come. */
async function removeDue(stores: Stores, boundary: number, now: number, report: JobReport): Promise<void> {
  for (const due of await stores.payments.removalsDue(boundary)) {
    await stores.transaction(async (repos) => {
      if (!(await repos.payments.setStatus(due.item_hash, ['removing'], 'removed'))) return;
      await repos.payments.setRemoval({ ...due, removed_at: boundary });
      const row = await repos.messages.get(due.item_hash);
      if (row?.type === 'STORE' && row.content_item_hash) {
        // Unpinned; the node's garbage collection deletes the file once nothing pins it.
        await repos.files.unpin(row.content_item_hash, row.item_hash);
        const file = await repos.files.get(row.content_item_hash);
        if (file && (await repos.files.pinCount(row.content_item_hash)) === 0) await repos.files.upsert(file.hash, file.engine, file.size, now, now);
      }
      report.removed.push(due.item_hash);
    });
  }
}

/** One run of the job at the boundary of `now`. */
export async function runPaymentJob(stores: Stores, settings: JobSettings, now: number): Promise<JobReport> {
  const interval = settings.paymentCheckIntervalSeconds;
  const boundary = boundaryOf(now, interval);
  const report: JobReport = { boundary, consumptionRows: 0, removing: [], restored: [], removed: [] };
  if (!settings.paymentChecks) return report;
  for (const owner of await stores.payments.chargedOwners('credit')) {
    await stores.transaction(async (repos) => {
      report.consumptionRows += await consume(repos, owner, boundary, interval);
      await judgeOwner(repos, owner, 'credit', boundary, settings, report);
    });
  }
  for (const owner of await stores.payments.chargedOwners('hold')) {
    await stores.transaction((repos) => judgeOwner(repos, owner, 'hold', boundary, settings, report));
  }
  await removeDue(stores, boundary, now, report);
  return report;
}

/** Runs the job at every boundary (a little after it, so posts dated at the boundary are in). */
export class PaymentJob {
  readonly #stores: Stores;
  readonly #settings: JobSettings;
  readonly #log: Logger;
  readonly #clock: () => number;
  readonly #changed: (report: JobReport) => void;
  readonly #loop: ServiceLoop;

  constructor(deps: { stores: Stores; settings: JobSettings; log: Logger; clock: () => number; changed: (report: JobReport) => void }) {
    this.#stores = deps.stores;
    this.#settings = deps.settings;
    this.#log = deps.log;
    this.#clock = deps.clock;
    this.#changed = deps.changed;
    this.#loop = new ServiceLoop({
      name: 'payment check',
      log: deps.log,
      round: async () => {
        await this.#run();
        return this.#untilNextBoundaryMs();
      },
    });
  }

  start(): void {
    this.#loop.start();
  }

  async stop(): Promise<void> {
    await this.#loop.stop();
  }

  /** The next boundary, plus a second for posts dated exactly at it. */
  #untilNextBoundaryMs(): number {
    const interval = this.#settings.paymentCheckIntervalSeconds;
    const now = this.#clock();
    return Math.max(100, (boundaryOf(now, interval) + interval + 1 - now) * 1000);
  }

  async #run(): Promise<void> {
    try {
      const report = await runPaymentJob(this.#stores, this.#settings, this.#clock());
      const changed = report.removing.length + report.restored.length + report.removed.length > 0;
      if (changed) {
        this.#log.info({ boundary: report.boundary, removing: report.removing, restored: report.restored, removed: report.removed }, 'payment check changed message statuses');
        this.#changed(report);
      } else this.#log.debug({ boundary: report.boundary, consumptionRows: report.consumptionRows }, 'payment check');
    } catch (err) {
      this.#log.error({ err }, 'payment check failed; retried at the next boundary');
    }
  }
}
