/**
 * The execution pool: from a message to a running workload and back. It owns admission (the
 * committed resources are always recomputed from the live executions), the lifecycle of each
 * execution, idle stops of on-demand programs, restarts of crashed persistent ones, owner stops
 * (final until the owner starts again, across restarts) and re-adoption after a supervisor
 * restart. Nothing a workload does may throw out of here: failures become execution states.
 *
 * This file holds the Supervisor class and its decisions; beside it: its dependencies
 * (supervisor-deps.ts), what a launch reserves and starts (launch-spec.ts), the start sequence
 * (start-sequence.ts), when crashed persistent executions restart (restart-policy.ts), the
 * live and past executions and their records (execution-table.ts, execution-record.ts) and the
 * re-adoption after a supervisor restart (restore.ts).
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ProgramContent } from '@aleph-nodes/protocol';
import type { Logger } from '@aleph-nodes/service';
import { ExecutorError, type ExecutionHandle, type ExitInfo } from '@aleph-nodes/vmm';
import type { VerifiedMessage } from '../ccn/ccn-client.ts';
import { CRN_ERRORS } from '../errors.ts';
import type { ResourceAmounts } from './admission.ts';
import type { Execution } from './execution.ts';
import { ExecutionTable } from './execution-table.ts';
import { removeInstanceData } from './instance-disk.ts';
import { reconcileAllocations, type ReconcileResult } from './allocation-policy.ts';
import { admitLaunch, executableMessage, executorIdOf } from './launch-spec.ts';
import { unlimitedPolicy, type OnDemandPolicy } from './owner-quota.ts';
import { readoptRecorded } from './restore.ts';
import { isHttpError, isPermanentFailure, RestartScheduler } from './restart-policy.ts';
import { startExecution, type StartContext } from './start-sequence.ts';
import type { SupervisorDeps } from './supervisor-deps.ts';

export type { SupervisorDeps, SupervisorSettings } from './supervisor-deps.ts';

/** CCN statuses after which a message never runs again (crn-api.md §6.9). */
export const TERMINAL_STATUSES: ReadonlySet<string> = new Set(['forgotten', 'rejected', 'removed']);

export class Supervisor {
  readonly #table: ExecutionTable;
  readonly #acquiring = new Map<string, Promise<Execution>>();
  readonly #restarts = new RestartScheduler();
  /** Refs the scheduler (or a notify) wants running persistently; requests start them as such. */
  readonly #allocated = new Set<string>();
  #closed = false;
  /** Allocation pushes in order: two must not interleave (as in aleph-vm). */
  #reconciling: Promise<unknown> = Promise.resolve();

  /** What the start sequence (start-sequence.ts) changes here. */
  readonly #starter: StartContext;
  readonly #onDemand: OnDemandPolicy;

  constructor(private readonly deps: SupervisorDeps) {
    this.#table = new ExecutionTable(deps);
    this.#onDemand = deps.settings.onDemand ?? unlimitedPolicy(deps.settings.idleTimeoutSeconds);
    this.#starter = {
      deps,
      othersCommitted: (exec) => this.#table.committed(exec),
      changed: (exec) => this.#table.changed(exec),
      attach: (exec, handle) => this.#attach(exec, handle),
    };
  }

  get #log(): Logger {
    return this.deps.logger;
  }

  liveExecutions(): Execution[] {
    return this.#table.liveExecutions();
  }

  /** The live execution of `ref`, else its last ended one. */
  find(ref: string): Execution | undefined {
    return this.#table.find(ref);
  }

  isOwnerStopped(ref: string): boolean {
    return this.#table.isOwnerStopped(ref);
  }

  committed(): ResourceAmounts {
    return this.#table.committed();
  }

  // ---- message to execution -------------------------------------------------------------

  /** The executable message behind `ref`, or the HTTP error that explains why not. */
  async message(ref: string): Promise<VerifiedMessage> {
    // Before any CCN lookup: a retired message is gone for this node (notify answers 410 too).
    this.#refuseRetired(ref);
    const verified = await executableMessage(this.deps.ccn, this.deps.executor, ref);
    this.deps.onExecutableMessage?.(verified);
    return verified;
  }

  /** Throws MESSAGE_RETIRED (410) when `ref` was forgotten, rejected or removed. */
  #refuseRetired(ref: string): void {
    const retired = this.deps.retired.get(ref);
    if (retired) throw CRN_ERRORS.error('MESSAGE_RETIRED', `Message ${ref} was ${retired.reason} (${retired.retiredAt}): it no longer runs on this node`);
  }

  isRetired(ref: string): boolean {
    return this.deps.retired.has(ref);
  }

  /**
   * Before a start: the CCN's status of `ref` (cached briefly). A terminal one retires it here
   * for good. An unreachable CCN does not block the start (the status monitor catches up later).
   */
  async #checkStatus(ref: string): Promise<void> {
    let status: string | undefined;
    try {
      status = await this.deps.ccn.getStatus(ref);
    } catch (err) {
      this.#log.debug({ ref, err: (err as Error).message }, 'message status unavailable before a start');
      return;
    }
    if (status && TERMINAL_STATUSES.has(status)) {
      await this.messageRetired(ref, status);
      this.#refuseRetired(ref);
    }
  }

  /** A running execution for an HTTP request: reused while warm, started once on demand. */
  async forRequest(ref: string): Promise<Execution> {
    this.#refuseRetired(ref);
    if (this.#table.isOwnerStopped(ref)) throw CRN_ERRORS.error('OWNER_STOPPED');
    // Instances have no HTTP entry point (their endpoint is the guest's SSH port).
    const notHttp = (): never => {
      throw CRN_ERRORS.error('NOT_EXECUTABLE', `Message ${ref} is an INSTANCE: it is reached over SSH (see /v2/about/executions/list), not over HTTP`);
    };
    if (this.#table.live.get(ref)?.vmType === 'instance') notHttp();
    return this.#reuseOrLaunch(ref, async () => {
      const message = await this.message(ref);
      if (message.message.type === 'INSTANCE') notHttp();
      return this.#launch(ref, message, this.#allocated.has(ref));
    });
  }

  /** Starts a persistent execution unless it runs already (allocations, restarts). Idempotent. */
  async ensurePersistent(ref: string, known?: VerifiedMessage): Promise<Execution> {
    this.#refuseRetired(ref);
    this.#allocated.add(ref);
    if (this.#table.isOwnerStopped(ref)) throw CRN_ERRORS.error('OWNER_STOPPED');
    return this.#reuseOrLaunch(ref, async () => this.#launch(ref, known ?? (await this.message(ref)), true));
  }

  /**
   * The live execution of `ref` once ready; else `launch` runs once for all concurrent callers,
   * after a stopping execution of the same ref has finished stopping.
   */
  async #reuseOrLaunch(ref: string, launch: () => Promise<Execution>): Promise<Execution> {
    const live = this.#table.live.get(ref);
    if (live && live.state !== 'stopping') {
      await live.ready;
      return live;
    }
    return this.#acquire(ref, async () => {
      if (live) await live.stopping;
      return launch();
    });
  }

  #acquire(ref: string, start: () => Promise<Execution>): Promise<Execution> {
    const pending = this.#acquiring.get(ref);
    if (pending) return pending;
    const p = start().finally(() => this.#acquiring.delete(ref));
    this.#acquiring.set(ref, p);
    return p;
  }

  async #launch(ref: string, message: VerifiedMessage, persistent: boolean): Promise<Execution> {
    await this.#checkStatus(ref);
    await this.deps.beforeStart?.(ref, message, this.liveExecutions());
    if (this.#closed) throw CRN_ERRORS.error('DRAINING');
    this.#refuseRetired(ref);
    // Check and reserve without an await in between: concurrent starts cannot both pass.
    const { exec, ready, settle } = admitLaunch(ref, message, persistent, {
      capacity: this.deps.settings.capacity,
      committed: this.committed(),
      policy: this.#onDemand,
      live: this.liveExecutions(),
    });
    this.#table.live.set(ref, exec);
    this.#table.changed(exec);
    this.#run(exec, message.content as unknown as ProgramContent).then(settle.resolve, settle.reject);
    await ready;
    // Started without a request (owner start, trigger): the idle timeout runs from now.
    this.#armIdle(exec);
    return exec;
  }

  async #run(exec: Execution, content: ProgramContent): Promise<void> {
    try {
      const handle = await startExecution(this.#starter, exec, content);
      this.#restarts.succeeded(exec.ref);
      this.#table.changed(exec);
      this.#log.info({ ref: exec.ref, vmType: exec.vmType, network: handle.network }, 'execution running');
    } catch (err) {
      if (exec.state === 'stopping') throw CRN_ERRORS.error('OWNER_STOPPED', 'The execution was stopped while it started');
      exec.lastLogs = err instanceof ExecutorError && err.logs.length > 0 ? err.logs : (exec.handle?.recentLogs(200) ?? []);
      exec.lastError = (err as Error).message;
      exec.setState('failed');
      const handle = exec.handle;
      if (handle) await handle.stop(1000).catch(() => undefined);
      this.#table.finalize(exec);
      this.#log.warn({ ref: exec.ref, err: exec.lastError }, 'execution failed to start');
      if (exec.persistent && !isPermanentFailure(err)) this.#scheduleRestart(exec);
      if (isHttpError(err)) throw err;
      throw CRN_ERRORS.error('PROGRAM_START_FAILED', `The program failed to start: ${exec.lastError}`);
    }
  }

  #attach(exec: Execution, handle: ExecutionHandle): void {
    exec.handle = handle;
    void handle.exited.then((info) => {
      if (info.memoryPeakMib !== undefined) exec.memoryPeakMib = info.memoryPeakMib;
      this.#onExit(exec, info);
    });
  }

  #onExit(exec: Execution, info: ExitInfo): void {
    if (info.requested || !exec.live || exec.state === 'stopping') return;
    // A crash (or an external kill) of a workload that was starting or running.
    exec.lastLogs = exec.handle?.recentLogs(200) ?? [];
    exec.lastError = `the workload exited (code ${info.code ?? 'unknown'}${info.signal ? `, signal ${info.signal}` : ''})`;
    const wasStarting = exec.state === 'starting';
    exec.setState('failed');
    if (wasStarting) return; // #run reports it through waitReady and finalizes
    this.#table.finalize(exec);
    this.#log.warn({ ref: exec.ref, err: exec.lastError }, 'execution crashed');
    if (exec.persistent) this.#scheduleRestart(exec);
  }

  /** Restarts a persistent execution after a crash or failed start, with a growing delay. */
  #scheduleRestart(exec: Execution): void {
    if (this.#closed || this.#table.isOwnerStopped(exec.ref) || this.#restarts.pending(exec.ref) || !this.#allocated.has(exec.ref)) return;
    this.#restarts.schedule(exec.ref, this.deps.settings.restartBackoffMaxSeconds, (attempts) => {
      if (this.#closed || this.#table.live.has(exec.ref) || !this.#allocated.has(exec.ref)) return;
      // A failed attempt schedules the next one from #run.
      this.ensurePersistent(exec.ref, exec.message).catch((err: unknown) => {
        this.#log.warn({ ref: exec.ref, attempts, err: (err as Error).message }, 'restart failed');
      });
    });
  }

  // ---- requests and idle stops ------------------------------------------------------------

  requestStarted(exec: Execution): void {
    exec.inflight++;
    if (exec.idleTimer) clearTimeout(exec.idleTimer);
    exec.idleTimer = undefined;
  }

  requestEnded(exec: Execution): void {
    exec.inflight = Math.max(0, exec.inflight - 1);
    this.#armIdle(exec);
  }

  /** An idle on-demand execution stops after its idle timeout (shorter for unpaid programs). */
  #armIdle(exec: Execution): void {
    if (exec.inflight > 0 || exec.persistent || !exec.live || exec.state === 'stopping') return;
    if (exec.idleTimer) clearTimeout(exec.idleTimer);
    exec.idleTimer = setTimeout(() => {
      exec.idleTimer = undefined;
      if (exec.inflight === 0) void this.stopExecution(exec, 'idle');
    }, exec.idleSeconds * 1000);
    exec.idleTimer.unref();
  }

  // ---- stops and owner operations ---------------------------------------------------------

  stopExecution(exec: Execution, reason: string): Promise<void> {
    if (exec.stopping) return exec.stopping;
    if (!exec.live) return Promise.resolve();
    exec.setState('stopping');
    this.#table.changed(exec);
    exec.stopping = (async () => {
      await exec.ready.catch(() => undefined);
      const grace = exec.vmType === 'instance' ? this.deps.settings.instanceStopTimeoutSeconds : this.deps.settings.stopTimeoutSeconds;
      if (exec.handle) await exec.handle.stop(grace * 1000).catch(() => undefined);
      exec.setState('stopped');
      this.#table.finalize(exec);
      this.#log.info({ ref: exec.ref, reason }, 'execution stopped');
    })();
    return exec.stopping;
  }

  /** An allocation push: `wanted` is the scheduler's whole set for this node (allocation-policy.ts); one at a time. */
  reconcile(wanted: readonly string[]): Promise<ReconcileResult> {
    const run = this.#reconciling.then(() => reconcileAllocations(this, wanted));
    this.#reconciling = run.catch(() => undefined);
    return run;
  }

  /** The scheduler no longer wants `ref` here: stop it for good. */
  async deallocate(exec: Execution): Promise<void> {
    this.#allocated.delete(exec.ref);
    this.#restarts.cancel(exec.ref);
    await this.stopExecution(exec, 'deallocated');
    // As in the reference, a deallocated instance loses its port mappings (its disk stays).
    if (exec.vmType === 'instance') this.deps.portForwards.release(exec.ref);
  }

  /** Owner stop: stays stopped (across restarts too) until the owner starts it again. */
  async ownerStop(ref: string): Promise<boolean> {
    this.#table.recordOwnerStop(ref, true);
    this.#restarts.cancel(ref);
    const exec = this.#table.live.get(ref);
    if (!exec) return false;
    await this.stopExecution(exec, 'owner');
    return true;
  }

  /** Owner start or reboot: clears an owner stop, stops a running execution, starts it again. */
  async ownerStart(ref: string, reboot: boolean): Promise<Execution> {
    this.#refuseRetired(ref);
    this.#table.recordOwnerStop(ref, false);
    const known = this.find(ref);
    const live = this.#table.live.get(ref);
    if (live && reboot) await this.stopExecution(live, 'reboot');
    const persistent = known?.persistent ?? false;
    return persistent ? this.ensurePersistent(ref, known?.message) : this.forRequest(ref);
  }

  async erase(ref: string): Promise<void> {
    const exec = this.#table.live.get(ref);
    if (exec) await this.stopExecution(exec, 'erase');
    // Volumes, the instance's root disk and its host ports: everything kept for `ref` goes.
    const id = executorIdOf(ref);
    rmSync(join(this.deps.settings.volumesDir, id), { recursive: true, force: true });
    removeInstanceData(this.deps.settings.instancesDir, id);
    this.deps.portForwards.release(ref);
    this.#table.forgetPast(ref);
    this.deps.records.delete(ref);
  }

  #isInstance(ref: string): boolean {
    return (this.find(ref)?.vmType ?? this.deps.records.get(ref)?.vmType) === 'instance';
  }

  /**
   * Stops the execution of `ref` because its message changed on the CCN. `why` is a terminal
   * status (forgotten, rejected, removed: `ref` is retired here for good, on disk, and dropped
   * from the message cache) or another reason (an amend: the next start runs the current version).
   * Callers have checked that whoever caused it may act for the owner (heard-messages.ts).
   */
  async messageRetired(ref: string, why: string): Promise<void> {
    const terminal = TERMINAL_STATUSES.has(why);
    if (terminal) {
      this.deps.retired.retire(ref, why);
      this.deps.ccn.evict(ref);
      this.#allocated.delete(ref);
    }
    this.#restarts.cancel(ref);
    const exec = this.#table.live.get(ref);
    if (exec) await this.stopExecution(exec, why);
    // A forgotten instance can never start again: its disk, ports and record go with it.
    if (why === 'forgotten' && this.#isInstance(ref)) {
      await this.erase(ref);
      this.#log.info({ ref }, 'forgotten instance removed (disk, port forwards, record)');
    }
  }

  // ---- supervisor lifecycle ---------------------------------------------------------------

  /** Re-adopts or restarts persistent executions recorded by a previous supervisor. */
  async restore(): Promise<void> {
    const restart = await readoptRecorded({
      deps: this.deps,
      isRetired: (ref) => this.deps.retired.has(ref),
      markOwnerStopped: (ref) => this.#table.markOwnerStopped(ref),
      markAllocated: (ref) => this.#allocated.add(ref),
      adopted: (exec, handle) => {
        this.#table.live.set(exec.ref, exec);
        this.#attach(exec, handle);
        this.#table.changed(exec);
      },
    });
    await this.deps.executor.cleanupOrphans(new Set(this.liveExecutions().map((e) => e.id)));
    for (const { ref, message } of restart) {
      this.ensurePersistent(ref, message).catch((err: unknown) => this.#log.warn({ ref, err: (err as Error).message }, 'restart after supervisor restart failed'));
    }
  }

  /** Stops on-demand executions; persistent ones keep running for the next supervisor unless asked. */
  async close(opts: { stopPersistent?: boolean } = {}): Promise<void> {
    this.#closed = true;
    this.#restarts.cancelAll();
    await Promise.allSettled([...this.#acquiring.values()]);
    const stops: Promise<void>[] = [];
    for (const exec of this.liveExecutions()) {
      if (exec.idleTimer) clearTimeout(exec.idleTimer);
      if (exec.persistent && exec.state === 'running' && !opts.stopPersistent) exec.handle?.detach();
      else stops.push(this.stopExecution(exec, 'shutdown'));
    }
    await Promise.allSettled(stops);
    await this.deps.executor.close();
  }
}
