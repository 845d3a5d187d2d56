/**
 * The scheduler's side of the ownership rule: this CCN's own view (from its records and its
 * monitor) next to the other CCNs' heartbeats, the rule applied, and what this CCN must place:
 * the workloads it manages, with the CRN it inherits for those whose CRN was re-linked to it.
 */
import type { AllocationRow } from '../db/allocations-repo.ts';
import type { CorechannelValue } from '../registry/types.ts';
import { decideOwnership, type CcnView, type OrphanState, type Ownership, type Placement } from './ownership.ts';
import type { CrnView, Workload } from './placement.ts';

/** What the scheduler needs of the liveness layer (network/liveness.ts implements it). */
export interface SchedulerNetwork {
  /** Resolves once the first round of heartbeats was pulled: no decision before (a CCN that restarts must first hear the newer ones). */
  readonly ready: Promise<void>;
  /** The other CCNs as their heartbeats describe them. */
  views(selfHash: string): CcnView[];
  orphan(crnHash: string, itemHash: string): OrphanState;
  /** Whether a CRN runs a workload, from direct probes (it is probed from now on for a while). */
  confirm(crnHash: string, itemHash: string): OrphanState;
  /** A CRN of a down CCN that runs this workload, if its probes say so. */
  runningOnOrphan(itemHash: string): string | undefined;
  /** True when this node's clock disagrees with its peers': it takes no new or orphaned workload. */
  fenced(): boolean;
  /** Asks for a heartbeat soon (a placement changed). */
  announce?(): void;
}

export interface ManagedInput {
  selfHash: string;
  schedules: boolean;
  workloads: readonly Workload[];
  /** This CCN's current records. */
  rows: readonly AllocationRow[];
  /** Its linked CRNs as its monitor sees them. */
  crns: readonly CrnView[];
  registry: CorechannelValue;
  network: SchedulerNetwork;
}

export interface Managed {
  ownership: Ownership[];
  managed: Workload[];
  /** Item hash → CRN it stays on, for workloads inherited with a re-linked CRN. */
  inherited: Map<string, string>;
}

export function selectManaged(input: ManagedInput): Managed {
  const placements = new Map<string, Placement>();
  const unplaced = new Set<string>();
  for (const r of input.rows) {
    if (r.crn_hash) placements.set(r.item_hash, { crnHash: r.crn_hash, decidedAt: r.decided_at });
    else unplaced.add(r.item_hash);
  }
  const self: CcnView = {
    nodeHash: input.selfHash,
    live: true,
    schedules: input.schedules,
    crns: input.crns.map((c) => ({ hash: c.hash, health: c.health, capacity: c.capacity ?? null })),
    placements,
    unplaced,
  };
  const crnByHash = new Map(input.registry.resource_nodes.map((r) => [r.hash, r]));
  const ownership = decideOwnership({
    workloads: input.workloads,
    ccns: [self, ...input.network.views(input.selfHash)],
    parentOf: (hash) => {
      const r = crnByHash.get(hash);
      return r && r.status === 'linked' ? r.parent : null;
    },
    crnInfo: (hash) => {
      const r = crnByHash.get(hash);
      return r ? { owner: r.owner, url: r.address } : undefined;
    },
    orphan: (crn, item) => input.network.orphan(crn, item),
    runningOnOrphan: (item) => input.network.runningOnOrphan(item),
  });
  const mine = new Set<string>();
  const inherited = new Map<string, string>();
  for (const o of ownership) {
    if (o.rule === 'contested' && o.losers.includes(input.selfHash) && o.crnHash) {
      // Lost a contest: our copy stops only once the winner's CRN is seen running it, so that a
      // CCN claiming what it does not run (a bug, a lie) cannot make everyone else drop it.
      const state = input.network.confirm(o.crnHash, o.itemHash);
      if (state !== 'running') {
        o.reason += `; this CCN keeps its copy until CRN ${o.crnHash.slice(0, 12)} is seen running it (${state === 'gone' ? 'it does not' : 'probing'})`;
        mine.add(o.itemHash);
        continue;
      }
    }
    if (o.manager !== input.selfHash) continue;
    mine.add(o.itemHash);
    if (o.rule === 'inherited' && o.crnHash) inherited.set(o.itemHash, o.crnHash);
  }
  return { ownership, managed: input.workloads.filter((w) => mine.has(w.itemHash)), inherited };
}
