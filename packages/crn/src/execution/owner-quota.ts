/**
 * What one owner's on-demand programs may take of this node. On-demand programs start on any
 * visitor's request and, until payments are enforced, nobody pays for them: without a cap, one
 * owner (one GET per program hash) could reserve the whole node for the idle timeout. So the
 * unpaid on-demand executions of one owner are capped (vCPUs, memory, count, as shares of the
 * node) and stop after a shorter idle timeout. Scheduler-placed executions (persistent
 * programs, instances) are not counted: the scheduler decides those. The network monitor's
 * diagnostic programs are exempt, and `isPaid` is where payment checks plug in.
 */
import type { VerifiedMessage } from '../ccn/ccn-client.ts';
import type { CapacitySettings, ResourceAmounts } from './admission.ts';

export interface OwnerQuota {
  vcpus: number;
  memoryMib: number;
  executions: number;
}

export interface OnDemandPolicy {
  /** Caps per owner on unpaid on-demand executions running at once. */
  quota: OwnerQuota;
  /** Idle timeout of paid or exempt on-demand programs (REUSE_TIMEOUT). */
  idleTimeoutSeconds: number;
  /** Idle timeout of unpaid on-demand programs (the shorter of the two applies). */
  unpaidIdleTimeoutSeconds: number;
  /** Program hashes never capped (the diagnostic programs). */
  exempt: ReadonlySet<string>;
  /** True when someone pays for this program (the payments work plugs in here). */
  isPaid(message: VerifiedMessage): boolean;
}

export interface OnDemandShares {
  vcpusShare: number;
  memoryShare: number;
  maxExecutions: number;
}

/** The per-owner caps from shares of the node's capacity (at least one vCPU). */
export function ownerQuota(capacity: Pick<CapacitySettings, 'vcpus' | 'memoryMib'>, shares: OnDemandShares): OwnerQuota {
  return {
    vcpus: Math.max(1, Math.floor(capacity.vcpus * shares.vcpusShare)),
    memoryMib: Math.floor(capacity.memoryMib * shares.memoryShare),
    executions: shares.maxExecutions,
  };
}

/** No caps and the plain idle timeout: what a node without the policy (unit tests) does. */
export function unlimitedPolicy(idleTimeoutSeconds: number): OnDemandPolicy {
  return {
    quota: { vcpus: Number.POSITIVE_INFINITY, memoryMib: Number.POSITIVE_INFINITY, executions: Number.POSITIVE_INFINITY },
    idleTimeoutSeconds,
    unpaidIdleTimeoutSeconds: idleTimeoutSeconds,
    exempt: new Set(),
    isPaid: () => true,
  };
}

/** Whether a launch of `ref` counts against its owner's caps (on-demand, unpaid, not exempt). */
export function isCapped(policy: OnDemandPolicy, ref: string, message: VerifiedMessage, persistent: boolean): boolean {
  return !persistent && !policy.exempt.has(ref) && !policy.isPaid(message);
}

/** How long an on-demand execution stays warm after its last request. */
export function idleSecondsFor(policy: OnDemandPolicy, capped: boolean): number {
  return capped ? Math.min(policy.idleTimeoutSeconds, policy.unpaidIdleTimeoutSeconds) : policy.idleTimeoutSeconds;
}

/** What the admission check needs to know of each live execution. */
export interface OwnedReservation {
  owner: string;
  capped: boolean;
  resources: ResourceAmounts;
}

/** Undefined when `wanted` fits in `owner`'s caps next to its live capped executions, else the reason. */
export function ownerQuotaFailure(quota: OwnerQuota, owner: string, live: Iterable<OwnedReservation>, wanted: ResourceAmounts): string | undefined {
  const key = owner.toLowerCase();
  let vcpus = 0;
  let memoryMib = 0;
  let executions = 0;
  for (const r of live) {
    if (!r.capped || r.owner.toLowerCase() !== key) continue;
    vcpus += r.resources.vcpus;
    memoryMib += r.resources.memoryMib;
    executions++;
  }
  const who = `owner ${owner}`;
  if (executions + 1 > quota.executions) {
    return `${who} already runs ${executions} on-demand programs here, at most ${quota.executions} at once (ownerOnDemandMaxExecutions)`;
  }
  if (vcpus + wanted.vcpus > quota.vcpus) {
    return `${who} reserves ${vcpus} vCPUs for on-demand programs here; ${wanted.vcpus} more would exceed its share of ${quota.vcpus} (ownerOnDemandVcpusShare)`;
  }
  if (memoryMib + wanted.memoryMib > quota.memoryMib) {
    return `${who} reserves ${memoryMib} MiB for on-demand programs here; ${wanted.memoryMib} MiB more would exceed its share of ${quota.memoryMib} MiB (ownerOnDemandMemoryShare)`;
  }
  return undefined;
}
