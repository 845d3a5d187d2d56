/**
 * The ExecutionHandle of one microVM execution (microvm-executor.ts): the execution's view of its
 * MicroVm (state, readiness, logs, exit, stop, detach, adoption record).
 */
import { rm } from 'node:fs/promises';
import { ExecutorError } from '../executor.ts';
import type { AdoptionRecord, Endpoint, ExecutionHandle, ExecutionNetwork, ExecutionSpec, HandleState, ExitInfo, LogLine } from '../executor.ts';
import { settlesWithin } from './timing.ts';
import { MicroVm } from './vm.ts';
import { MicroVmError } from './vm-types.ts';

export const MICROVM_BACKEND = 'microvm';

export function toExecutorError(err: unknown, logs: LogLine[]): ExecutorError {
  if (err instanceof ExecutorError) return err;
  if (err instanceof MicroVmError) {
    const code = err.code === 'NOT_READY' ? 'NOT_READY' : err.code === 'EXITED' ? 'EXITED' : 'START_FAILED';
    return new ExecutorError(code, err.message, logs);
  }
  return new ExecutorError('START_FAILED', (err as Error).message, logs);
}

/** Console lines become stderr log lines the owner can read when a boot fails. */
function consoleLogs(lines: readonly string[]): LogLine[] {
  const time = Date.now();
  return lines.map((text) => ({ stream: 'stderr' as const, time, text: `[console] ${text}` }));
}

export class MicroVmHandle implements ExecutionHandle {
  readonly exited: Promise<ExitInfo>;
  #bootError: ExecutorError | undefined;
  #booted: Promise<void>;
  #detached = false;
  #extraLogs: LogLine[] = [];

  constructor(
    readonly spec: ExecutionSpec,
    readonly endpoint: Endpoint,
    readonly network: ExecutionNetwork | undefined,
    private readonly vm: MicroVm,
    private readonly scratchDir: string,
    private readonly onGone: () => void,
    boot: Promise<void>,
  ) {
    this.#booted = boot.catch((err: unknown) => {
      const tail = err instanceof MicroVmError ? err.consoleTail : [];
      // An instance's console is its log already: no need to add its tail again.
      this.#extraLogs = spec.instance ? [] : consoleLogs(tail);
      this.#bootError = toExecutorError(err, this.recentLogs(50));
    });
    this.exited = vm.exited.then(async (exit) => {
      await rm(scratchDir, { recursive: true, force: true }).catch(() => {});
      if (!this.#detached) this.onGone();
      return {
        code: exit.program?.code ?? null,
        signal: exit.program?.signal ?? (exit.program ? null : exit.requested ? null : 'SIGKILL'),
        requested: exit.requested,
        memoryPeakMib: exit.memoryPeakMib,
      };
    });
  }

  get id(): string {
    return this.spec.id;
  }

  get state(): HandleState {
    switch (this.vm.state) {
      case 'created':
      case 'booting':
      case 'waiting':
      case 'configuring':
        return 'starting';
      case 'running':
        return this.#ready ? 'running' : 'starting';
      case 'stopping':
        return 'stopping';
      case 'stopped':
      case 'failed':
        return this.#requested ? 'stopped' : 'failed';
    }
  }

  #ready = false;
  #requested = false;

  async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    await settlesWithin(this.#booted, timeoutMs);
    if (this.#bootError) throw this.#bootError;
    if (this.vm.state === 'created' || this.vm.state === 'booting' || this.vm.state === 'waiting' || this.vm.state === 'configuring') {
      throw new ExecutorError('NOT_READY', `the VM did not boot within ${timeoutMs} ms`, this.recentLogs(50));
    }
    try {
      await this.vm.waitReady(Math.max(1, deadline - Date.now()));
      this.#ready = true;
    } catch (err) {
      if (err instanceof MicroVmError && err.code === 'EXITED') {
        // Let the last log lines of a program that died arrive with its exit.
        await settlesWithin(this.vm.exited, 2000);
      }
      throw toExecutorError(err, this.recentLogs(50));
    }
  }

  recentLogs(limit = 1000): LogLine[] {
    return [...this.#extraLogs, ...this.vm.recentLogs(limit)].slice(-limit);
  }

  subscribeLogs(listener: (line: LogLine) => void): () => void {
    return this.vm.logs.subscribe(listener);
  }

  async stop(timeoutMs = 10_000): Promise<void> {
    if (this.#detached) throw new ExecutorError('EXITED', 'this handle was detached');
    if (this.vm.state !== 'stopped' && this.vm.state !== 'failed') this.#requested = true;
    await this.vm.stop(timeoutMs);
    await this.exited;
  }

  detach(): void {
    this.#detached = true;
    void this.vm.detach();
    this.onGone();
  }

  adoptionRecord(): AdoptionRecord {
    const attachment = this.vm.attachment();
    return {
      backend: MICROVM_BACKEND,
      id: this.spec.id,
      data: { vm: attachment ?? null, scratchDir: this.scratchDir, endpoint: this.endpoint, network: this.network ?? null, instance: this.spec.instance !== undefined },
    };
  }

  /** For an adopted handle: its program was ready before the restart. */
  markAdopted(): void {
    this.#ready = true;
  }
}
