/**
 * Rendezvous (highest random weight) hashing: every CCN ranks the candidate CCNs of a workload
 * the same way from nothing but the workload's item hash and the CCNs' registry node hashes, so
 * the CCNs agree on who places a new or orphaned workload without talking to each other. Adding
 * or removing one CCN only moves the workloads that CCN ranked first for (about 1/N of them).
 */
import { sha256Hex } from '@aleph-nodes/protocol';

/** The weight of `nodeHash` for `itemHash`: a 64-hex-digit string; higher ranks first. */
export function rendezvousWeight(itemHash: string, nodeHash: string): string {
  // The separator keeps ("ab","c") and ("a","bc") apart.
  return sha256Hex(`${itemHash.toLowerCase()}:${nodeHash.toLowerCase()}`);
}

/** `nodeHashes` ranked for `itemHash`, first = the manager; ties (never in practice) by node hash. */
export function rankByRendezvous(itemHash: string, nodeHashes: Iterable<string>): string[] {
  const weighted = [...new Set(nodeHashes)].map((h) => ({ h, w: rendezvousWeight(itemHash, h) }));
  weighted.sort((a, b) => (a.w === b.w ? (a.h < b.h ? -1 : 1) : a.w > b.w ? -1 : 1));
  return weighted.map((x) => x.h);
}

/** True when `a` outranks `b` for `itemHash`. */
export function outranks(itemHash: string, a: string, b: string): boolean {
  return rankByRendezvous(itemHash, [a, b])[0] === a;
}
