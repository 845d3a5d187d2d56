/**
 * What a restarted supervisor finds in the records: owner stops to honour again, on-demand
 * executions of the dead supervisor (marked stopped: the next request starts them), persistent
 * ones to re-adopt (their workload still runs) or, when that fails, to restart. Kept apart from
 * supervisor.ts because it only runs once, at start, and reads the records' shape.
 */
import type { ExecutionHandle } from '@aleph-nodes/vmm';
import type { VerifiedMessage } from '../ccn/ccn-client.ts';
import type { ExecutionRecord } from '../db/records.ts';
import type { DownloadCache } from '../storage/download-cache.ts';
import { Execution, LIVE_STATES, type ExecutionState } from './execution.ts';
import { executorIdOf } from './launch-spec.ts';
import type { SupervisorDeps } from './supervisor-deps.ts';

/** What re-adoption changes in the supervisor. */
export interface RestoreTarget {
  deps: Pick<SupervisorDeps, 'records' | 'executor' | 'cache' | 'logger'>;
  /** Forgotten, rejected or removed: never re-adopted nor restarted (its workload is cleaned up as an orphan). */
  isRetired(ref: string): boolean;
  markOwnerStopped(ref: string): void;
  markAllocated(ref: string): void;
  /** A re-adopted execution: live again, its handle watched. */
  adopted(exec: Execution, handle: ExecutionHandle): void;
}

/** A persistent execution that wants to run but could not be re-adopted. */
export interface PendingRestart {
  ref: string;
  message: VerifiedMessage;
}

/** Applies the records to `target`; returns the persistent executions to start again. */
export async function readoptRecorded(target: RestoreTarget): Promise<PendingRestart[]> {
  const { records, executor, cache, logger } = target.deps;
  const restart: PendingRestart[] = [];
  for (const rec of records.all()) {
    if (rec.ownerStopped) target.markOwnerStopped(rec.ref);
    // A persistent execution that had crashed was waiting for its restart: it still wants to run.
    const wanted = LIVE_STATES.has(rec.state as ExecutionState) || (rec.persistent && rec.state === 'failed');
    if (!wanted) continue;
    const message = JSON.parse(rec.message) as VerifiedMessage;
    if (!rec.persistent || rec.ownerStopped || target.isRetired(rec.ref)) {
      // On-demand executions of a dead supervisor are cleaned up by the caller; the next request
      // restarts them. Retired ones are cleaned up the same way and never start again.
      records.upsert({ ...rec, state: 'stopped', adoption: null, stoppedAt: new Date().toISOString() });
      continue;
    }
    target.markAllocated(rec.ref);
    let handle: ExecutionHandle | undefined;
    if (rec.adoption) {
      handle = await executor.adopt(rec.adoption.record, rec.adoption.spec).catch((err: unknown) => {
        logger.warn({ ref: rec.ref, err: (err as Error).message }, 'cannot adopt execution');
        return undefined;
      });
    }
    if (!handle) {
      restart.push({ ref: rec.ref, message });
      continue;
    }
    target.adopted(adoptedExecution(rec, message, cache), handle);
    logger.info({ ref: rec.ref }, 'execution re-adopted');
  }
  return restart;
}

/**
 * The running, persistent execution of a re-adopted record (its handle is attached by the
 * caller): resources and times as recorded, its cache entries pinned again.
 */
export function adoptedExecution(rec: ExecutionRecord, message: VerifiedMessage, cache: DownloadCache): Execution {
  const exec = new Execution(rec.ref, executorIdOf(rec.ref), message, rec.vmType, true, { vcpus: rec.vcpus, memoryMib: rec.memoryMib, diskMib: rec.diskMib }, Promise.resolve());
  exec.times.defined_at = rec.definedAt;
  exec.cacheKeys = rec.adoption?.cacheKeys ?? [];
  exec.releaseCache = cache.pin(exec.cacheKeys);
  exec.setState('running');
  exec.times.started_at = rec.startedAt;
  return exec;
}
