/**
 * The CCN's scheduler: places every persistent workload on one of the CRNs linked to this CCN,
 * records each decision with its reason, and pushes each CRN its full desired set.
 *
 * It reconciles when a relevant message is processed (PROGRAM, INSTANCE, FORGET, a registry
 * operation), when the monitor changes a CRN's health, and every `schedulerIntervalSeconds`
 * (which also re-pushes every CRN, so a CRN that restarted or drifted converges). Reconciliations
 * never overlap: a request during one runs once more after it.
 *
 * With several CCNs (a `network`, network/liveness.ts), it places only the workloads this CCN
 * manages by the ownership rule (ownership.ts) and drops the others from its records before
 * pushing, so that the CRN running a copy it no longer manages stops it. Its first decision waits
 * for the first round of heartbeats: a CCN that comes back must hear the newer decisions first.
 */
import { failureCode, type EthAccount } from '@aleph-nodes/protocol';
import { ServiceLoop, type Logger, type LoopState } from '@aleph-nodes/service';
import type { CcnConfig } from '../config.ts';
import type { AllocationRow } from '../db/allocations-repo.ts';
import type { MessageRow } from '../db/messages-repo.ts';
import type { HealthMonitor, MonitorTarget } from '../monitor/health-monitor.ts';
import type { RegistrySnapshot } from '../registry/registry-service.ts';
import type { Stores } from '../stores.ts';
import { AllocationPusher, type CrnPushStatus, type PushFn } from './allocation-pusher.ts';
import { pushAllocations, type DesiredSet, type PushAnswer } from './crn-client.ts';
import { reportCapacity } from '../network/liveness-views.ts';
import type { OwnState } from '../network/liveness-types.ts';
import { MAX_HEARTBEAT_WORKLOADS } from '../network/liveness-heartbeat.ts';
import { selectManaged, type SchedulerNetwork } from './managed.ts';
import type { Ownership } from './ownership.ts';
import { desiredSets, placeWorkloads, type CrnView } from './placement.ts';
import { persistentWorkloads } from './workloads.ts';

export interface SchedulerDeps {
  stores: Stores;
  registry: { snapshot(): Promise<RegistrySnapshot> };
  account: EthAccount;
  config: CcnConfig;
  monitor: HealthMonitor;
  log: Logger;
  /** Unix seconds. */
  clock: () => number;
  /** Injected by unit tests; the real push signs and POSTs. */
  push?: PushFn;
  /** The other CCNs (liveness); absent = this CCN schedules every persistent workload (a lone CCN). */
  network?: SchedulerNetwork | undefined;
}

/** A CRN as the scheduler last saw it (for GET /api/v0/allocations). */
export interface ScheduledCrn {
  hash: string;
  url: string;
  linked: boolean;
  shortfall: string | null;
  push: CrnPushStatus | undefined;
}

export class Scheduler {
  readonly #deps: SchedulerDeps;
  readonly #pusher: AllocationPusher;
  /** Reconciliations: never overlapping, a request during one runs one more after it. */
  readonly #loop: ServiceLoop;
  #forceNext = false;
  /** When every CRN was last re-sent its set (performance.now() ms). */
  #lastForcedAt = -Infinity;
  #nodeHash: string | null = null;
  #crns = new Map<string, ScheduledCrn>();
  /** CRNs that refused a workload for lack of capacity: no more work until they accept one. */
  readonly #shortfalls = new Map<string, string>();
  /** Per CRN, the workloads its last answer refused for lack of capacity (`error_codes`, or aleph-vm's text). */
  readonly #capacityRefused = new Map<string, Set<string>>();
  /** The linked CRNs and the records as of the last reconciliation (what the heartbeat reports). */
  #targets: MonitorTarget[] = [];
  #rows: AllocationRow[] | undefined;
  #ownership: { at: number; list: Ownership[] } | undefined;
  #warnedTruncation = false;

  constructor(deps: SchedulerDeps) {
    this.#deps = deps;
    const timeoutMs = deps.config.allocationPushTimeoutSeconds * 1000;
    const push: PushFn = deps.push ?? ((url, set, signing) => pushAllocations(deps.account, url, set, timeoutMs, signing));
    this.#pusher = new AllocationPusher(
      push,
      { retryBaseMs: deps.config.allocationRetryBaseMs, retryMaxMs: deps.config.allocationRetryMaxMs },
      { delivered: (crn, set, answer) => this.#onDelivered(crn, set, answer) },
      deps.log.child({ component: 'allocation-pusher' }),
    );
    this.#loop = new ServiceLoop({
      name: 'scheduler',
      log: deps.log,
      intervalMs: deps.config.schedulerIntervalSeconds * 1000,
      // A failed reconciliation (registry or database unreadable) is tried again soon, and at
      // the latest at the next interval.
      backoff: { baseMs: 1000, maxMs: Math.max(1000, deps.config.schedulerIntervalSeconds * 1000) },
      round: () => this.#round(),
    });
  }

  get state(): LoopState {
    return this.#loop.state;
  }

  /** This CCN's node hash in the registry (null until it is registered). */
  get nodeHash(): string | null {
    return this.#nodeHash;
  }

  /** The ownership rule as last applied (null without a network, or before the first decision). */
  ownership(): { at: number; list: Ownership[] } | null {
    return this.#ownership ?? null;
  }

  /** What this CCN's heartbeat says (network/liveness.ts); null until it has decided once. */
  heartbeatState(): OwnState | null {
    const rows = this.#rows;
    if (!this.#nodeHash || !rows) return null;
    const { monitor, config, network } = this.#deps;
    // One heartbeat must fit one gossip message: at most MAX_HEARTBEAT_WORKLOADS entries in all.
    // Beyond that the rest is not announced (the others would see it unclaimed): a scale limit
    // far above what three CRNs run, logged when reached.
    let room = MAX_HEARTBEAT_WORKLOADS;
    const take = <T>(list: T[]): T[] => {
      const out = list.slice(0, Math.max(0, room));
      room -= out.length;
      return out;
    };
    const state: OwnState = {
      nodeHash: this.#nodeHash,
      schedules: config.schedulerEnabled && !(network?.fenced() ?? false),
      crns: this.#targets.map((t) => {
        const v = monitor.view(t);
        return {
          hash: t.hash,
          health: v.health,
          capacity: reportCapacity(v.capacity),
          workloads: take(rows.filter((r) => r.crn_hash === t.hash)).map((r) => ({ item_hash: r.item_hash, decided_at: r.decided_at })),
        };
      }),
      unplaced: take(rows.filter((r) => r.crn_hash === null)).map((r) => r.item_hash),
    };
    if (rows.length > MAX_HEARTBEAT_WORKLOADS && !this.#warnedTruncation) {
      this.#warnedTruncation = true;
      this.#deps.log.warn({ records: rows.length, announced: MAX_HEARTBEAT_WORKLOADS }, 'more placements than one heartbeat carries: the rest is not announced');
    }
    return state;
  }

  crns(): ScheduledCrn[] {
    return [...this.#crns.values()].map((c) => ({ ...c, shortfall: this.#shortfalls.get(c.hash) ?? null, push: this.#pusher.status(c.hash) }));
  }

  start(): void {
    this.#forceNext = true;
    this.#loop.start();
  }

  async stop(): Promise<void> {
    await this.#loop.stop();
    await this.#pusher.close();
  }

  /** Asks for a reconciliation (coalesced). `forcePush` re-sends every CRN its set. */
  trigger(opts: { forcePush?: boolean } = {}): void {
    if (opts.forcePush) this.#forceNext = true;
    this.#loop.trigger();
  }

  /**
   * Called for every processed (or retracted) message, like the registry's: what may change a
   * placement (an executable, a FORGET, a registry operation or an amend) asks for a reconciliation.
   */
  onProcessed(row: Pick<MessageRow, 'type' | 'content_type'>): void {
    if (row.type === 'PROGRAM' || row.type === 'INSTANCE' || row.type === 'FORGET' || (row.type === 'POST' && (row.content_type === 'corechan-operation' || row.content_type === 'amend'))) {
      this.trigger();
    }
  }

  /**
   * One reconciliation. Every CRN is re-sent its set at least once per interval (a CRN that
   * restarted or drifted converges), whatever triggers came in between.
   */
  async #round(): Promise<void> {
    const every = this.#deps.config.schedulerIntervalSeconds * 1000;
    const force = this.#forceNext || performance.now() - this.#lastForcedAt >= every;
    this.#forceNext = false;
    if (force) this.#lastForcedAt = performance.now();
    try {
      await this.reconcile({ forcePush: force });
    } catch (err) {
      // The retry re-sends what this round did not.
      if (force) this.#forceNext = true;
      throw err;
    }
  }

  /** A CRN came back: push it its current desired set at once. */
  crnRecovered(hash: string): void {
    this.#shortfalls.delete(hash);
    this.#capacityRefused.delete(hash);
    this.trigger();
    const crn = this.#crns.get(hash);
    const status = this.#pusher.status(hash);
    if (crn && status) this.#pusher.setDesired(hash, crn.url, status.desired, { force: true });
  }

  /** One pass: registry → targets → placement → records → pushes. */
  async reconcile(opts: { forcePush?: boolean } = {}): Promise<void> {
    const { stores, config, monitor, log, clock } = this.#deps;
    const snapshot = await this.#deps.registry.snapshot();
    const address = this.#deps.account.address.toLowerCase();
    const own = config.nodeHash
      ? snapshot.value.nodes.find((n) => n.hash === config.nodeHash)
      : snapshot.value.nodes.find((n) => n.owner.toLowerCase() === address);
    this.#nodeHash = config.nodeHash || own?.hash || null;
    const linked = this.#nodeHash
      ? snapshot.value.resource_nodes.filter((r) => r.parent === this.#nodeHash && r.status === 'linked' && r.address !== '')
      : [];
    const targets: MonitorTarget[] = linked.map((r) => ({ hash: r.hash, url: r.address, owner: r.owner }));
    monitor.setTargets(targets);
    this.#targets = targets;
    if (!config.schedulerEnabled) {
      // Monitoring only: the probes are recorded, nothing is placed or pushed.
      this.#crns = new Map(targets.map((t) => [t.hash, { hash: t.hash, url: t.url, linked: true, shortfall: null, push: undefined }]));
      this.#rows = [];
      return;
    }

    const network = this.#deps.network;
    if (network) await network.ready;
    const previous = await stores.allocations.list();
    const current = new Map<string, string>();
    for (const row of previous) if (row.crn_hash) current.set(row.item_hash, row.crn_hash);
    const views: CrnView[] = targets.map((t) => ({ ...monitor.view(t), shortfall: this.#shortfalls.get(t.hash) }));
    let workloads = persistentWorkloads(await stores.allocations.processedExecutables());
    if (network && this.#nodeHash) {
      const sel = selectManaged({ selfHash: this.#nodeHash, schedules: !network.fenced(), workloads, rows: previous, crns: views, registry: snapshot.value, network });
      this.#ownership = { at: clock(), list: sel.ownership };
      const byItem = new Map(sel.ownership.map((o) => [o.itemHash, o]));
      const mine = new Set(sel.managed.map((w) => w.itemHash));
      for (const row of previous) {
        const o = byItem.get(row.item_hash);
        // Dropped from the records: the push below no longer lists it, so its CRN stops our copy.
        if (o && !mine.has(row.item_hash)) log.info({ workload: row.item_hash, crn: row.crn_hash, manager: o.manager, reason: o.reason }, 'placement dropped: another CCN manages it');
      }
      for (const [item, crn] of sel.inherited) current.set(item, crn);
      workloads = sel.managed;
    }
    // A workload its CRN refused for lack of capacity goes elsewhere (that CRN gets no more work).
    const displaced = new Map<string, string>();
    for (const row of previous) {
      if (row.crn_hash && this.#shortfalls.has(row.crn_hash) && this.#capacityRefused.get(row.crn_hash)?.has(row.item_hash)) {
        displaced.set(row.item_hash, `its CRN refused it for lack of capacity`);
      }
    }
    const decisions = placeWorkloads(workloads, views, current, displaced);

    // Record: an unchanged decision keeps its original reason and time.
    const byHash = new Map(previous.map((r) => [r.item_hash, r]));
    const now = clock();
    const rows: AllocationRow[] = decisions.map((d) => {
      const old = byHash.get(d.itemHash);
      if (old && old.crn_hash === d.crnHash && !d.changed) return old;
      if (d.changed) log.info({ workload: d.itemHash, crn: d.crnHash, from: d.previousCrnHash, reason: d.reason }, 'placement decided');
      return {
        item_hash: d.itemHash,
        type: d.type,
        crn_hash: d.crnHash,
        reason: d.reason,
        previous_crn_hash: d.previousCrnHash,
        decided_at: now,
        push_status: old && old.crn_hash === d.crnHash ? old.push_status : null,
      };
    });
    await stores.allocations.replaceAll(rows);
    const announce = !this.#rows || JSON.stringify(this.#rows.map((r) => [r.item_hash, r.crn_hash])) !== JSON.stringify(rows.map((r) => [r.item_hash, r.crn_hash]));
    this.#rows = rows;
    if (announce) network?.announce?.();

    // Push every linked CRN its set. A CRN that is no longer linked but still ran some of our
    // workloads is sent an empty set, so that it stops them (it may refuse if it no longer
    // trusts this CCN's key; then there is nothing more this CCN can do).
    const sets = desiredSets(decisions, targets.map((t) => t.hash));
    const nextCrns = new Map<string, ScheduledCrn>();
    for (const t of targets) {
      nextCrns.set(t.hash, { hash: t.hash, url: t.url, linked: true, shortfall: null, push: undefined });
      this.#pusher.setDesired(t.hash, t.url, sets.get(t.hash) as DesiredSet, { force: opts.forcePush === true });
    }
    const formerlyUsed = new Set(previous.map((r) => r.crn_hash).filter((h): h is string => h !== null && !nextCrns.has(h)));
    for (const hash of formerlyUsed) {
      const entry = snapshot.value.resource_nodes.find((r) => r.hash === hash);
      if (!entry || entry.address === '') continue;
      nextCrns.set(hash, { hash, url: entry.address, linked: false, shortfall: null, push: undefined });
      this.#pusher.setDesired(hash, entry.address, { persistent_vms: [], instances: [] });
    }
    for (const hash of this.#crns.keys()) {
      const stillPushed = nextCrns.has(hash) || (this.#pusher.status(hash)?.delivered === false);
      if (!stillPushed) this.#pusher.forget(hash);
      else if (!nextCrns.has(hash)) nextCrns.set(hash, this.#crns.get(hash) as ScheduledCrn);
    }
    this.#crns = nextCrns;
  }

  /** Records what the CRN did with each workload of the set it applied. */
  async #onDelivered(crnHash: string, set: DesiredSet, answer: PushAnswer): Promise<void> {
    if (this.#loop.state === 'stopped') return;
    const { stores, log } = this.#deps;
    const refused = new Set<string>();
    try {
      for (const hash of [...set.persistent_vms, ...set.instances]) {
        const error = answer.errors[hash];
        const failed = answer.failing.includes(hash);
        if (failed && failureCode(answer, hash) === 'INSUFFICIENT_CAPACITY') refused.add(hash);
        await stores.allocations.setPushStatus(hash, crnHash, failed ? `failed on ${crnHash.slice(0, 12)}: ${error ?? 'unknown error'}` : 'ok');
      }
    } catch (err) {
      log.error({ err }, 'could not record allocation results');
    }
    if (answer.failing.length > 0) log.warn({ crn: crnHash, failing: answer.failing, errors: answer.errors }, 'CRN could not start some workloads');
    const capacityRefused = refused.size > 0;
    if (capacityRefused) this.#capacityRefused.set(crnHash, refused);
    else this.#capacityRefused.delete(crnHash);
    if (capacityRefused && !this.#shortfalls.has(crnHash)) {
      // It reported room it did not have: no more work for it until it comes back healthy.
      this.#shortfalls.set(crnHash, 'refused a workload for lack of capacity after reporting room for it');
      this.trigger();
    } else if (!capacityRefused && answer.failing.length === 0) {
      this.#shortfalls.delete(crnHash);
    }
  }
}
