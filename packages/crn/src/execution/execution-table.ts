/**
 * The executions a supervisor knows: the live one per ref, the last ended one per ref (for logs
 * and lists of past executions), the owner stops, and their rows in the records, written on
 * every state change (owner stops too: they survive supervisor restarts).
 * Kept apart from supervisor.ts so the class there holds the decisions (admission, starts,
 * stops, restarts), not the bookkeeping.
 */
import { sumResources, type ResourceAmounts } from './admission.ts';
import { executionRecord } from './execution-record.ts';
import type { Execution } from './execution.ts';
import type { SupervisorDeps } from './supervisor-deps.ts';

const PAST_EXECUTIONS_KEPT = 1000;

export class ExecutionTable {
  readonly live = new Map<string, Execution>();
  readonly #past = new Map<string, Execution>();
  readonly #ownerStopped = new Set<string>();

  constructor(private readonly deps: Pick<SupervisorDeps, 'records' | 'logger' | 'onStateChange'>) {}

  liveExecutions(): Execution[] {
    return [...this.live.values()];
  }

  /** The live execution of `ref`, else its last ended one. */
  find(ref: string): Execution | undefined {
    return this.live.get(ref) ?? this.#past.get(ref);
  }

  /** Resources reserved by the live executions (always recomputed: nothing to drift). */
  committed(besides?: Execution): ResourceAmounts {
    return sumResources(this.liveExecutions().filter((e) => e !== besides).map((e) => e.resources));
  }

  /** Records and reports a state change of `exec`. */
  changed(exec: Execution): void {
    this.#persist(exec);
    this.deps.onStateChange?.(exec);
  }

  /** An ended execution: its idle timer and cache pins released, moved from live to past. */
  finalize(exec: Execution): void {
    if (exec.idleTimer) clearTimeout(exec.idleTimer);
    exec.idleTimer = undefined;
    if (exec.handle) exec.lastLogs = exec.handle.recentLogs(1000);
    exec.releaseCache();
    if (this.live.get(exec.ref) === exec) this.live.delete(exec.ref);
    this.#past.delete(exec.ref);
    this.#past.set(exec.ref, exec);
    // Older past executions remain in the records (logs included); memory keeps the latest ones.
    if (this.#past.size > PAST_EXECUTIONS_KEPT) {
      const oldest = this.#past.keys().next().value;
      if (oldest !== undefined) this.#past.delete(oldest);
    }
    this.changed(exec);
  }

  isOwnerStopped(ref: string): boolean {
    return this.#ownerStopped.has(ref);
  }

  /** An owner stop read back from the records (nothing to write). */
  markOwnerStopped(ref: string): void {
    this.#ownerStopped.add(ref);
  }

  /** Owner stop (final until the owner starts again) or start, written to the ref's record. */
  recordOwnerStop(ref: string, stopped: boolean): void {
    if (stopped) this.#ownerStopped.add(ref);
    else this.#ownerStopped.delete(ref);
    const rec = this.deps.records.get(ref);
    if (rec) this.deps.records.upsert({ ...rec, ownerStopped: stopped });
  }

  forgetPast(ref: string): void {
    this.#past.delete(ref);
  }

  #persist(exec: Execution): void {
    try {
      this.deps.records.upsert(executionRecord(exec, this.#ownerStopped.has(exec.ref)));
    } catch (err) {
      this.deps.logger.error({ ref: exec.ref, err }, 'cannot record execution');
    }
  }
}
