/**
 * Conversions between a heartbeat's report and the scheduler's views: what this node reports of
 * its CRNs (capacity in the heartbeat's snake_case units) and how another CCN's heartbeat reads
 * as a CcnView for the ownership rule.
 */
import type { CrnCapacity } from '../scheduler/placement.ts';
import type { CcnView, Placement } from '../scheduler/ownership.ts';
import type { HeartbeatPayload, ReportedCapacity } from './liveness-heartbeat.ts';

export function reportCapacity(c: CrnCapacity | undefined | null): ReportedCapacity | null {
  if (!c) return null;
  return {
    cpu_count: c.cpuCount,
    memory_total_mib: c.totalMemoryMib,
    memory_available_mib: c.availableMemoryMib,
    disk_available_mib: c.availableDiskMib,
    architecture: c.architecture.slice(0, 64),
    vendor: c.vendor.slice(0, 128),
    features: c.features.slice(0, 256).map((f) => f.slice(0, 64)),
    gpus: c.gpuDeviceIds.slice(0, 64).map((g) => g.slice(0, 128)),
  };
}

export function readCapacity(c: ReportedCapacity | null): CrnCapacity | null {
  if (!c) return null;
  return {
    cpuCount: c.cpu_count,
    totalMemoryMib: c.memory_total_mib,
    availableMemoryMib: c.memory_available_mib,
    availableDiskMib: c.disk_available_mib,
    architecture: c.architecture,
    vendor: c.vendor,
    features: c.features,
    gpuDeviceIds: c.gpus,
  };
}

/** Another CCN as its latest heartbeat describes it; `live` is the caller's verdict on its age. */
export function viewOfHeartbeat(p: HeartbeatPayload, live: boolean): CcnView {
  const placements = new Map<string, Placement>();
  for (const crn of p.crns) {
    for (const w of crn.workloads) {
      const known = placements.get(w.item_hash);
      // A workload listed twice (a confused or lying CCN): its latest decision counts.
      if (!known || w.decided_at > known.decidedAt) placements.set(w.item_hash, { crnHash: crn.hash, decidedAt: w.decided_at });
    }
  }
  return {
    nodeHash: p.node_hash,
    live,
    schedules: live && p.schedules,
    crns: p.crns.map((c) => ({ hash: c.hash, health: c.health, capacity: readCapacity(c.capacity) })),
    placements,
    unplaced: new Set(p.unplaced),
  };
}
