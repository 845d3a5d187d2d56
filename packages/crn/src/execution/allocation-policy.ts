/**
 * Which executions a scheduler's allocation push may stop (aleph-vm 1.14 `update_allocations`):
 * the persistent ones it placed. A push never stops what the scheduler does not account for:
 * pay-as-you-go (stream) and credit workloads (placed by their users through notify), GPU
 * workloads and confidential ones — aleph-vm keeps these whether or not the push lists them.
 */
import type { Execution } from './execution.ts';

interface PlacementFields {
  payment?: { type?: unknown } | null;
  requirements?: { gpu?: unknown } | null;
  environment?: { trusted_execution?: unknown } | null;
}

/** Paid by its user (stream or credits) rather than by a hold the scheduler accounts for. */
export function userPaid(content: Pick<PlacementFields, 'payment'>): boolean {
  const type = content.payment?.type;
  return type === 'superfluid' || type === 'credit';
}

/** A workload the push leaves alone when it does not list it (see above). */
export function keptWithoutAllocation(content: PlacementFields): boolean {
  const gpus = content.requirements?.gpu;
  return userPaid(content) || (Array.isArray(gpus) && gpus.length > 0) || Boolean(content.environment?.trusted_execution);
}

/** Executions a push may stop when it does not list them. */
export function stoppableByPush(exec: Execution): boolean {
  return exec.persistent && !keptWithoutAllocation(exec.message.content as PlacementFields);
}

/** What one push changed: the refs it stopped, started (or found running) and could not start. */
export interface ReconcileResult {
  stopped: string[];
  successful: string[];
  /** ref → the error of its start (an HttpError from the error table, usually). */
  failures: Map<string, unknown>;
}

/** The supervisor's side of a reconciliation (supervisor.ts passes itself). */
export interface ReconcileTarget {
  liveExecutions(): Execution[];
  deallocate(exec: Execution): Promise<void>;
  isOwnerStopped(ref: string): boolean;
  ensurePersistent(ref: string): Promise<unknown>;
}

/**
 * Brings the node to the wanted set: first stops what the scheduler placed and no longer wants
 * (freeing resources), then starts the wanted ones one by one (aleph-vm starts them in sequence
 * to bound the load). An owner's stop wins over the scheduler: such a ref counts as successful
 * without starting (crn-api.md §6.7).
 */
export async function reconcileAllocations(target: ReconcileTarget, wanted: readonly string[]): Promise<ReconcileResult> {
  const wantedSet = new Set(wanted);
  const stopped: string[] = [];
  for (const exec of target.liveExecutions()) {
    if (stoppableByPush(exec) && !wantedSet.has(exec.ref)) {
      await target.deallocate(exec);
      stopped.push(exec.ref);
    }
  }
  const successful: string[] = [];
  const failures = new Map<string, unknown>();
  for (const ref of wantedSet) {
    if (target.isOwnerStopped(ref)) {
      successful.push(ref);
      continue;
    }
    try {
      await target.ensurePersistent(ref);
      successful.push(ref);
    } catch (err) {
      failures.set(ref, err);
    }
  }
  return { stopped, successful, failures };
}
