/**
 * Host uids/gids of jailed workloads. Each workload runs as its own unprivileged id, derived
 * from the host-wide lease it already holds (a /30 for process workloads, a /24 tap subnet for
 * microVMs), so two live workloads never share an identity, on any number of supervisors per
 * host. The ranges sit far above normal users and subordinate-id ranges, and do not overlap.
 */
export const WORKLOAD_ID_BASE = {
  process: 1_800_000_000,
  microvm: 1_900_000_000,
} as const;

/** Leases above this never occur (a /16 of /30s is 16384; the tap pool is smaller). */
const MAX_LEASE = 1 << 20;

export function workloadId(backend: keyof typeof WORKLOAD_ID_BASE, lease: number): number {
  if (!Number.isInteger(lease) || lease < 0 || lease >= MAX_LEASE) throw new Error(`lease ${lease} is out of range`);
  return WORKLOAD_ID_BASE[backend] + lease;
}
