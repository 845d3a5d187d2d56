/**
 * The ownership rule (pure): which live CCN manages each persistent workload. Every CCN computes
 * it from the same replicated state (the persistent workloads from messages, the registry's links)
 * and the same verified heartbeats, and acts only on the workloads it manages, so each workload
 * has exactly one live manager once the CCNs have heard the same heartbeats.
 *
 * For a workload (and the messages it amends, whose placement it inherits):
 * 1. **Claimed**: live CCNs that report it placed on one of THEIR linked CRNs claim it. One claim:
 *    that CCN manages it. Several (a partition healed, or two CCNs decided on different views):
 *    the later decision wins, then the higher rendezvous rank; the others drop it at their next
 *    round. Both sides compare the same two reported (decided_at, node hash) pairs, so they agree.
 * 2. **Last word of a CCN that is down**: its last heartbeat says where the workload was.
 *    - Its CRN is now linked to another live CCN (the owner re-linked it): that CCN inherits it
 *      and keeps it on that CRN.
 *    - Its CRN still runs it (probed directly: its CCN no longer reports it), or the probes have
 *      not decided yet: nobody manages it; it keeps running where it is.
 *    - Its CRN is down or no longer runs it: orphaned, placed as in 3.
 *    Before placing anything as in 3, the CRNs of CCNs that are down are checked: one that runs
 *    the workload keeps it (its CCN may have died between pushing it and announcing it).
 * 3. **New or orphaned**: the live CCN ranked first by rendezvous hashing (item hash + node hash)
 *    among the live, scheduling CCNs that report a healthy linked CRN with room for it and have
 *    not reported it unplaceable. When none qualifies, the first in rank of the live scheduling
 *    CCNs holds it (it records why it cannot place it and reports it unplaced).
 */
import type { CrnCapacity, CrnHealth, Workload } from './placement.ts';
import { requirementMismatch } from './placement.ts';
import { rankByRendezvous } from './rendezvous.ts';

export interface Placement {
  crnHash: string;
  /** Unix seconds of the decision, as the placing CCN reported it. */
  decidedAt: number;
}

/** A CCN as this node sees it: itself from its own state, the others from their last heartbeat. */
export interface CcnView {
  nodeHash: string;
  live: boolean;
  /** May take new and orphaned workloads: live, its scheduler on, its clock sane. */
  schedules: boolean;
  crns: readonly { hash: string; health: CrnHealth; capacity: CrnCapacity | null }[];
  /** Item hash → where it placed it. */
  placements: ReadonlyMap<string, Placement>;
  /** Workloads it manages but could not place. */
  unplaced: ReadonlySet<string>;
}

/** What a direct probe of a down CCN's CRN says about one of its workloads. */
export type OrphanState = 'running' | 'gone' | 'unknown';

export interface OwnershipInput {
  workloads: readonly Workload[];
  /** Every CCN with a known state, this node included. */
  ccns: readonly CcnView[];
  /** The registry: the CCN a CRN is linked to (null when unlinked or unknown). */
  parentOf(crnHash: string): string | null;
  /** The registry: a CRN's owner and URL (requirements check). */
  crnInfo(crnHash: string): { owner: string; url: string } | undefined;
  /** Direct probes of the CRNs of CCNs that are down. */
  orphan(crnHash: string, itemHash: string): OrphanState;
  /**
   * A CRN of a down CCN whose last probe lists this workload running, if any: a CCN can die
   * between pushing a decision and announcing it, and that copy must not be doubled.
   */
  runningOnOrphan(itemHash: string): string | undefined;
}

export type OwnershipRule = 'claimed' | 'contested' | 'inherited' | 'unmanaged' | 'rendezvous' | 'fallback' | 'none';

export interface Ownership {
  itemHash: string;
  manager: string | null;
  rule: OwnershipRule;
  reason: string;
  /** Where the manager keeps it (its claim, or the CRN it inherits); null = to be placed. */
  crnHash: string | null;
  /** CCNs whose claim lost (they drop it at their next round). */
  losers: string[];
}

const short = (h: string): string => h.slice(0, 12);

interface Claim extends Placement {
  ccn: string;
}

/** The hashes whose placement a workload inherits: itself, then what it amends, newest first. */
function lineage(w: Workload): string[] {
  return [w.itemHash, ...[...(w.replaces ?? [])].reverse()];
}

function placementOf(view: CcnView, hashes: readonly string[]): Placement | undefined {
  for (const h of hashes) {
    const p = view.placements.get(h);
    if (p) return p;
  }
  return undefined;
}

/** Claim order: later decision first, then higher rendezvous rank. */
function winnerOf(itemHash: string, claims: readonly Claim[]): { winner: Claim; byTime: boolean } {
  const latest = Math.max(...claims.map((c) => c.decidedAt));
  const atLatest = claims.filter((c) => c.decidedAt === latest);
  const top = rankByRendezvous(itemHash, atLatest.map((c) => c.ccn))[0] as string;
  return { winner: atLatest.find((c) => c.ccn === top) as Claim, byTime: atLatest.length === 1 };
}

/** Why `view` cannot take `w` as a new workload, or undefined when one of its CRNs has room. */
export function noRoom(w: Workload, view: CcnView, input: Pick<OwnershipInput, 'parentOf' | 'crnInfo'>): string | undefined {
  let why = 'no linked CRN reported';
  for (const crn of view.crns) {
    if (input.parentOf(crn.hash) !== view.nodeHash) continue;
    if (crn.health !== 'healthy' || !crn.capacity) {
      why = 'no healthy linked CRN';
      continue;
    }
    const cap = crn.capacity;
    const info = input.crnInfo(crn.hash);
    const mismatch = requirementMismatch(w.requirements, { hash: crn.hash, url: info?.url ?? '', owner: info?.owner ?? '', health: crn.health, capacity: cap });
    if (mismatch) {
      why = mismatch;
      continue;
    }
    if (w.vcpus > cap.cpuCount || w.memoryMib > cap.availableMemoryMib || w.diskMib > cap.availableDiskMib) {
      why = 'no CRN with room for it';
      continue;
    }
    return undefined;
  }
  return why;
}

function rendezvous(w: Workload, input: OwnershipInput, why: string): Ownership {
  for (const h of lineage(w)) {
    const crn = input.runningOnOrphan(h);
    if (crn) {
      return { itemHash: w.itemHash, manager: null, rule: 'unmanaged', reason: `${why}; but CRN ${short(crn)} of a CCN that is down runs it: it keeps running there`, crnHash: null, losers: [] };
    }
  }
  const schedulers = input.ccns.filter((c) => c.live && c.schedules);
  const eligible = schedulers.filter((c) => !c.unplaced.has(w.itemHash) && noRoom(w, c, input) === undefined);
  if (eligible.length > 0) {
    const manager = rankByRendezvous(w.itemHash, eligible.map((c) => c.nodeHash))[0] as string;
    const n = eligible.length;
    return {
      itemHash: w.itemHash,
      manager,
      rule: 'rendezvous',
      reason: `${why}; ${short(manager)} ranks first by rendezvous hashing among ${n} live CCN${n === 1 ? '' : 's'} with a healthy CRN with room`,
      crnHash: null,
      losers: [],
    };
  }
  if (schedulers.length > 0) {
    const manager = rankByRendezvous(w.itemHash, schedulers.map((c) => c.nodeHash))[0] as string;
    return {
      itemHash: w.itemHash,
      manager,
      rule: 'fallback',
      reason: `${why}; no live CCN reports a healthy CRN with room for it: ${short(manager)}, first by rendezvous rank, holds it`,
      crnHash: null,
      losers: [],
    };
  }
  return { itemHash: w.itemHash, manager: null, rule: 'none', reason: `${why}; no live CCN schedules workloads`, crnHash: null, losers: [] };
}

export function decideOwnership(input: OwnershipInput): Ownership[] {
  const byHash = new Map(input.ccns.map((c) => [c.nodeHash, c]));
  return input.workloads.map((w): Ownership => {
    const hashes = lineage(w);
    // 1. Claims of live CCNs on their own linked CRNs.
    const claims: Claim[] = [];
    for (const c of input.ccns) {
      if (!c.live) continue;
      const p = placementOf(c, hashes);
      if (p && input.parentOf(p.crnHash) === c.nodeHash) claims.push({ ccn: c.nodeHash, ...p });
    }
    if (claims.length === 1) {
      const c = claims[0] as Claim;
      return { itemHash: w.itemHash, manager: c.ccn, rule: 'claimed', reason: `placed by ${short(c.ccn)} on its CRN ${short(c.crnHash)}`, crnHash: c.crnHash, losers: [] };
    }
    if (claims.length > 1) {
      const { winner, byTime } = winnerOf(w.itemHash, claims);
      const losers = claims.filter((c) => c !== winner).map((c) => c.ccn);
      return {
        itemHash: w.itemHash,
        manager: winner.ccn,
        rule: 'contested',
        reason: `claimed by ${claims.length} CCNs (${claims.map((c) => short(c.ccn)).join(', ')}): ${short(winner.ccn)} keeps it on ${short(winner.crnHash)} (${byTime ? 'the later decision' : 'same decision time, higher rendezvous rank'}); the others drop it`,
        crnHash: winner.crnHash,
        losers,
      };
    }
    // 2. The last word of CCNs that are down.
    let last: Claim | undefined;
    for (const c of input.ccns) {
      if (c.live) continue;
      const p = placementOf(c, hashes);
      if (p && (!last || p.decidedAt > last.decidedAt)) last = { ccn: c.nodeHash, ...p };
    }
    if (last) {
      const parent = input.parentOf(last.crnHash);
      if (parent !== null && parent !== last.ccn && byHash.get(parent)?.live) {
        return {
          itemHash: w.itemHash,
          manager: parent,
          rule: 'inherited',
          reason: `its CCN ${short(last.ccn)} is down; its CRN ${short(last.crnHash)} is now linked to ${short(parent)}, which keeps it there`,
          crnHash: last.crnHash,
          losers: [],
        };
      }
      const state = hashes.map((h) => input.orphan(last.crnHash, h)).reduce<OrphanState>((a, b) => (a === 'running' || b === 'running' ? 'running' : a === 'unknown' || b === 'unknown' ? 'unknown' : 'gone'), 'gone');
      if (state === 'running') {
        return { itemHash: w.itemHash, manager: null, rule: 'unmanaged', reason: `its CCN ${short(last.ccn)} is down; its CRN ${short(last.crnHash)} still runs it`, crnHash: null, losers: [] };
      }
      if (state === 'unknown') {
        return { itemHash: w.itemHash, manager: null, rule: 'unmanaged', reason: `its CCN ${short(last.ccn)} is down; probing its CRN ${short(last.crnHash)}`, crnHash: null, losers: [] };
      }
      return rendezvous(w, input, `orphaned: its CCN ${short(last.ccn)} is down and its CRN ${short(last.crnHash)} does not run it`);
    }
    // 3. New (or unclaimed: its manager could not place it).
    return rendezvous(w, input, 'unclaimed');
  });
}
