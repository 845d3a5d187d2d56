/**
 * The handle of one process workload: its state, logs (tailed from the files the detached
 * workload writes), readiness, stop, and the adoption record a restarted supervisor re-attaches
 * with. Host resources are freed by the executor (`release`) once the workload has ended.
 */
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import {
  ExecutorError,
  type AdoptionRecord,
  type Endpoint,
  type ExecutionHandle,
  type ExecutionSpec,
  type HandleState,
  type ExitInfo,
  type LogLine,
} from '../executor.ts';
import { LogBuffer } from '../log-buffer.ts';
import { tcpOpen } from '../tcp-open.ts';
import type { Cgroup } from '../host/cgroups.ts';
import { isSameProcessAlive } from '../host/tools.ts';
import { LogTail } from './log-tail.ts';
import type { NetworkInfo } from './network.ts';

export const WORKLOAD_PORT = 8080;
export const BACKEND = 'process';
/** Version of the sandbox an adoption record was made by: 2 is the bubblewrap jail. */
export const SANDBOX_VERSION = 2;

export interface ProcessAdoptionData {
  sandbox: typeof SANDBOX_VERSION;
  /** The root stage's process, which becomes bubblewrap's (its death ends the pid namespace). */
  pid: number;
  startTime: number;
  net: NetworkInfo;
  cgroup: string;
  dir: string;
  /** The workload's host uid (and gid). */
  uid: number;
  /** Images of persistent volumes, freed (loop devices) when the workload has ended. */
  images: string[];
}

export interface HandleOwner {
  release(data: ProcessAdoptionData, cgroup: Cgroup): Promise<void>;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export class ProcessHandle implements ExecutionHandle {
  #state: HandleState;
  readonly #logs = new LogBuffer();
  readonly #tails: LogTail[];
  #exitWatch: NodeJS.Timeout | undefined;
  #stopRequested = false;
  #detached = false;
  #finished = false;
  #resolveExited!: (info: ExitInfo) => void;
  readonly exited: Promise<ExitInfo>;
  readonly endpoint: Endpoint;

  constructor(
    private readonly executor: HandleOwner,
    readonly spec: ExecutionSpec,
    private readonly data: ProcessAdoptionData,
    private readonly cgroup: Cgroup,
    child: ChildProcess | undefined,
    initialState: HandleState,
  ) {
    this.#state = initialState;
    this.endpoint = { host: data.net.guestIp, port: WORKLOAD_PORT };
    this.exited = new Promise((resolve) => {
      this.#resolveExited = resolve;
    });
    this.#tails = (['stdout', 'stderr'] as const).map(
      (stream) => new LogTail(join(data.dir, `${stream}.log`), (chunk) => this.#logs.write(stream, chunk)),
    );
    for (const tail of this.#tails) tail.start();
    if (child) {
      child.once('exit', (code, signal) => void this.#finish(code, signal));
    } else {
      // Adopted: not our child, so watch /proc for its end.
      this.#exitWatch = setInterval(() => {
        if (!isSameProcessAlive(data.pid, data.startTime)) void this.#finish(null, null);
      }, 250);
      this.#exitWatch.unref();
    }
  }

  get id(): string {
    return this.spec.id;
  }

  get state(): HandleState {
    return this.#state;
  }

  async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.#finished) {
        throw new ExecutorError('EXITED', 'the workload exited before listening on its port', this.#logs.recent(50));
      }
      if (await tcpOpen(this.endpoint.host, this.endpoint.port, 1000)) {
        if (this.#state === 'starting') this.#state = 'running';
        return;
      }
      await sleep(50);
    }
    throw new ExecutorError('NOT_READY', `the workload did not listen on port ${WORKLOAD_PORT} within ${timeoutMs} ms`, this.#logs.recent(50));
  }

  recentLogs(limit?: number): LogLine[] {
    for (const tail of this.#tails) tail.poll();
    return this.#logs.recent(limit);
  }

  subscribeLogs(listener: (line: LogLine) => void): () => void {
    return this.#logs.subscribe(listener);
  }

  async stop(timeoutMs = 5000): Promise<void> {
    if (this.#detached) throw new ExecutorError('EXITED', 'this handle was detached');
    if (!this.#finished) {
      this.#stopRequested = true;
      this.#state = 'stopping';
      // SIGTERM to the workload's processes, not to bwrap's monitor (which exits with the
      // workload's status); bwrap's pid 1 exits when the workload does.
      this.cgroup.signalAll('SIGTERM', new Set([this.data.pid]));
      const graceful = await Promise.race([this.exited.then(() => true), sleep(timeoutMs).then(() => false)]);
      if (!graceful) {
        try {
          process.kill(this.data.pid, 'SIGKILL');
        } catch {
          // gone already
        }
        this.cgroup.signalAll('SIGKILL');
      }
    }
    await this.exited;
  }

  detach(): void {
    this.#detached = true;
    this.#stopTimers();
  }

  adoptionRecord(): AdoptionRecord {
    return { backend: BACKEND, id: this.spec.id, data: { ...this.data } };
  }

  #stopTimers(): void {
    for (const tail of this.#tails) tail.stop();
    if (this.#exitWatch) clearInterval(this.#exitWatch);
  }

  async #finish(code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    if (this.#finished || this.#detached) return;
    this.#finished = true;
    if (this.#exitWatch) clearInterval(this.#exitWatch);
    for (const tail of this.#tails) tail.poll();
    const oom = this.cgroup.oomKilled();
    const peak = this.cgroup.memoryPeakBytes();
    this.#stopTimers();
    this.#logs.flush();
    if (oom) this.#logs.push({ stream: 'stderr', time: Date.now(), text: `[process executor] killed: out of memory (limit ${this.spec.resources.memoryMib} MiB)` });
    await this.executor.release(this.data, this.cgroup);
    this.#state = this.#stopRequested ? 'stopped' : 'failed';
    this.#resolveExited({ code, signal, requested: this.#stopRequested, memoryPeakMib: peak === undefined ? undefined : Math.ceil(peak / 1048576) });
  }
}
