/**
 * The handle of one FakeExecutor workload: a plain Node.js child process (no namespace, no
 * cgroup) whose output goes to two files, like the process backend's, so that it survives its
 * supervisor and can be re-adopted from its record.
 */
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { ExecutorError, type AdoptionRecord, type Endpoint, type ExecutionHandle, type ExecutionSpec, type HandleState, type ExitInfo, type LogLine } from '../executor.ts';
import { isSameProcessAlive } from '../host/tools.ts';
import { LogBuffer } from '../log-buffer.ts';
import { LogTail } from '../process/log-tail.ts';
import { tcpOpen } from '../tcp-open.ts';

export const FAKE_BACKEND = 'fake';

export interface FakeAdoptionData {
  pid: number;
  /** With the pid, identifies the process across pid reuse (/proc/<pid>/stat field 22). */
  startTime: number;
  /** The host port the workload's port 8080 is moved to. */
  port: number;
  /** The workload's directory: its code copy and its output files. */
  dir: string;
}

export interface FakeHandleOwner {
  /** Frees what the workload had on the host (its directory), once it has ended. */
  release(data: FakeAdoptionData): void;
  forget(handle: FakeHandle): void;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Signals the workload's process group: it leads one (spawned detached, in a session of its own). */
export function signalGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    // gone already
  }
}

export class FakeHandle implements ExecutionHandle {
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
    private readonly owner: FakeHandleOwner,
    readonly spec: ExecutionSpec,
    private readonly data: FakeAdoptionData,
    private readonly child: ChildProcess | undefined,
    initialState: HandleState,
  ) {
    this.#state = initialState;
    this.endpoint = { host: '127.0.0.1', port: data.port };
    this.exited = new Promise((resolve) => {
      this.#resolveExited = resolve;
    });
    this.#tails = (['stdout', 'stderr'] as const).map((stream) => new LogTail(join(data.dir, `${stream}.log`), (chunk) => this.#logs.write(stream, chunk)));
    for (const tail of this.#tails) tail.start(50);
    if (child) {
      child.once('exit', (code, sig) => this.#finish(code, sig));
    } else {
      // Adopted: not our child, so watch /proc for its end. Not unref'd: a test awaiting
      // `exited` must keep the process alive until it comes.
      this.#exitWatch = setInterval(() => {
        if (!isSameProcessAlive(data.pid, data.startTime)) this.#finish(null, null);
      }, 50);
    }
  }

  get id(): string {
    return this.spec.id;
  }

  get state(): HandleState {
    return this.#state;
  }

  /** Ready once the moved port accepts a connection; the last log lines explain a failure. */
  async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const refuse = (code: 'EXITED' | 'NOT_READY', why: string): ExecutorError => new ExecutorError(code, why, this.#logs.recent(50));
    for (;;) {
      if (this.#finished) throw refuse('EXITED', 'the workload exited before listening on its port');
      if (await tcpOpen(this.endpoint.host, this.endpoint.port, 1000)) break;
      if (Date.now() >= deadline) throw refuse('NOT_READY', `the workload did not listen on port 8080 within ${timeoutMs} ms`);
      await sleep(20);
    }
    if (this.#state === 'starting') this.#state = 'running';
  }

  subscribeLogs(listener: (line: LogLine) => void): () => void {
    return this.#logs.subscribe(listener);
  }

  recentLogs(limit?: number): LogLine[] {
    this.#pollTails();
    return this.#logs.recent(limit);
  }

  #pollTails(): void {
    for (const tail of this.#tails) tail.poll();
  }

  async stop(timeoutMs = 5000): Promise<void> {
    if (this.#detached) throw new ExecutorError('EXITED', 'this handle was detached');
    if (!this.#finished) {
      this.#stopRequested = true;
      this.#state = 'stopping';
      signalGroup(this.data.pid, 'SIGTERM');
      // The hard kill's timer must not outlive the exit (it would hold a test process open).
      const timer = setTimeout(() => signalGroup(this.data.pid, 'SIGKILL'), timeoutMs);
      await this.exited;
      clearTimeout(timer);
    }
    await this.exited;
  }

  detach(): void {
    this.#detached = true;
    this.#stopTimers();
    this.child?.unref();
    this.owner.forget(this);
  }

  adoptionRecord(): AdoptionRecord {
    return { backend: FAKE_BACKEND, id: this.spec.id, data: { ...this.data } };
  }

  /** Detaches without the owner's bookkeeping (the executor closing). */
  release(): void {
    this.#detached = true;
    this.#stopTimers();
    this.child?.unref();
  }

  #stopTimers(): void {
    for (const tail of this.#tails) tail.stop();
    if (this.#exitWatch) clearInterval(this.#exitWatch);
    this.#exitWatch = undefined;
  }

  #finish(code: number | null, sig: NodeJS.Signals | null): void {
    if (this.#finished || this.#detached) return;
    this.#finished = true;
    this.#pollTails();
    this.#stopTimers();
    this.#logs.flush();
    // Whatever the workload left running in its group goes with it.
    signalGroup(this.data.pid, 'SIGKILL');
    this.owner.release(this.data);
    this.owner.forget(this);
    this.#state = this.#stopRequested ? 'stopped' : 'failed';
    this.#resolveExited({ code, signal: sig, requested: this.#stopRequested });
  }
}
