/** One execution of a PROGRAM (or INSTANCE) on this node, with explicit lifecycle states. */
import type { ExecutionHandle, LogLine } from '@aleph-nodes/vmm';
import type { VerifiedMessage } from '../ccn/ccn-client.ts';
import type { AlephVmType } from '../db/records.ts';
import type { ResourceAmounts } from './admission.ts';

/**
 * preparing: message read, downloads and extraction under way (resources already reserved);
 * starting: the workload is launched and not yet listening; running: serving;
 * stopping: stop requested; stopped: ended on request; failed: crashed or could not start.
 */
export type ExecutionState = 'preparing' | 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';

export const LIVE_STATES: ReadonlySet<ExecutionState> = new Set(['preparing', 'starting', 'running', 'stopping']);

/**
 * The only transitions an execution takes (`setState` refuses any other):
 * - preparing → starting (prepared), running (a persistent one re-adopted after a restart of the
 *   node: it never stopped), stopping (stopped while preparing), failed (could not prepare);
 * - starting → running, stopping, failed (did not come up, or crashed while starting);
 * - running → stopping, failed (crashed);
 * - stopping → stopped: a stop always ends as `stopped`, whatever the workload did meanwhile;
 * - failed → failed: a crash while starting is seen both by the exit watcher and by the start
 *   sequence that was waiting for it;
 * - stopped and failed are final: a restart is a new Execution.
 */
export const EXECUTION_TRANSITIONS: Readonly<Record<ExecutionState, readonly ExecutionState[]>> = {
  preparing: ['starting', 'running', 'stopping', 'failed'],
  starting: ['running', 'stopping', 'failed'],
  running: ['stopping', 'failed'],
  stopping: ['stopped'],
  stopped: [],
  failed: ['failed'],
};

export class ExecutionStateError extends Error {
  constructor(
    readonly ref: string,
    readonly from: ExecutionState,
    readonly to: ExecutionState,
  ) {
    super(`execution ${ref}: illegal state change ${from} → ${to}`);
    this.name = 'ExecutionStateError';
  }
}

export type StateTimestamps = Record<
  'defined_at' | 'preparing_at' | 'prepared_at' | 'starting_at' | 'started_at' | 'stopping_at' | 'stopped_at',
  string | null
>;

export class Execution {
  #state: ExecutionState = 'preparing';
  readonly times: StateTimestamps;
  handle: ExecutionHandle | undefined;
  /** Resolves when running; rejects with the start failure. */
  ready: Promise<void>;
  inflight = 0;
  idleTimer: NodeJS.Timeout | undefined;
  /** Counted against its owner's on-demand caps (owner-quota.ts). */
  capped = false;
  /** On-demand: how long it stays warm after its last request. */
  idleSeconds = 0;
  lastError: string | null = null;
  /** Why it was stopped when the node stopped it for a reason the owner must know (`payment_lapsed`). */
  stopReason: { reason: string; detail: string } | null = null;
  lastLogs: LogLine[] = [];
  /** Peak memory of the run, once it has ended (when the backend measures it). */
  memoryPeakMib: number | null = null;
  releaseCache: () => void = () => undefined;
  cacheKeys: string[] = [];
  /** Set while a stop is under way, so concurrent stops share it. */
  stopping: Promise<void> | undefined;

  constructor(
    readonly ref: string,
    /** The executor's id for this execution (the hash, or its SHA-256 for IPFS CIDs). */
    readonly id: string,
    readonly message: VerifiedMessage,
    readonly vmType: AlephVmType,
    readonly persistent: boolean,
    readonly resources: ResourceAmounts,
    ready: Promise<void>,
  ) {
    const now = new Date().toISOString();
    this.times = { defined_at: now, preparing_at: now, prepared_at: null, starting_at: null, started_at: null, stopping_at: null, stopped_at: null };
    this.ready = ready;
    // A start failure is reported to whoever awaits `ready`; never an unhandled rejection.
    ready.catch(() => undefined);
  }

  get state(): ExecutionState {
    return this.#state;
  }

  get owner(): string {
    return String(this.message.content.address ?? this.message.message.sender);
  }

  get live(): boolean {
    return LIVE_STATES.has(this.#state);
  }

  /** Moves to `state`; throws ExecutionStateError for a transition EXECUTION_TRANSITIONS does not list. */
  setState(state: ExecutionState): void {
    if (!EXECUTION_TRANSITIONS[this.#state].includes(state)) throw new ExecutionStateError(this.ref, this.#state, state);
    this.#state = state;
    const now = new Date().toISOString();
    const key = ({ preparing: 'preparing_at', starting: 'starting_at', running: 'started_at', stopping: 'stopping_at', stopped: 'stopped_at', failed: 'stopped_at' } as const)[state];
    this.times[key] = now;
    if (state === 'starting') this.times.prepared_at = now;
  }

  logs(limit = 1000): LogLine[] {
    return this.handle ? this.handle.recentLogs(limit) : this.lastLogs.slice(-limit);
  }
}
