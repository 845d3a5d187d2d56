/**
 * An execution as the records (SQLite) keep it: the row written on every state change (restore.ts
 * reads it back after a supervisor restart). Kept apart so supervisor.ts holds the lifecycle,
 * not the field mapping.
 */
import type { ExecutionRecord } from '../db/records.ts';
import type { Execution } from './execution.ts';

/** The row of `exec`; a live one carries the adoption data a later supervisor re-attaches with. */
export function executionRecord(exec: Execution, ownerStopped: boolean): ExecutionRecord {
  return {
    ref: exec.ref,
    vmType: exec.vmType,
    persistent: exec.persistent,
    state: exec.state,
    ownerStopped,
    message: JSON.stringify(exec.message),
    owner: exec.owner,
    vcpus: exec.resources.vcpus,
    memoryMib: exec.resources.memoryMib,
    diskMib: exec.resources.diskMib,
    adoption: exec.handle && exec.live ? { record: exec.handle.adoptionRecord(), spec: exec.handle.spec, cacheKeys: exec.cacheKeys } : null,
    memoryPeakMib: exec.memoryPeakMib,
    lastError: exec.lastError,
    lastLogs: exec.live ? [] : exec.lastLogs.slice(-200),
    definedAt: exec.times.defined_at ?? new Date().toISOString(),
    startedAt: exec.times.started_at,
    stoppedAt: exec.times.stopped_at,
  };
}
