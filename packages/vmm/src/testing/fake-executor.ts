/**
 * A FakeExecutor for tests of what sits above the executor interface (the CRN supervisor): it
 * runs a Node.js workload as a plain child process, WITHOUT root and without isolation, yet it
 * behaves as the interface promises and passes the same conformance suite as the real backends
 * (fake-executor.test.ts). What it does instead of isolating:
 *
 * - port 8080: a preloaded module moves the workload's `listen(8080)` to a free loopback port
 *   chosen here (the workload shares the host's network; it cannot have 8080 to itself);
 * - read-only code: the code is copied into the workload's directory and made read-only; when the
 *   tests run as root, the workload runs as `nobody` so that the modes apply;
 * - memory: RLIMIT_DATA (`prlimit --data`), which bounds what a process maps writable;
 * - environment: exactly the spec's variables;
 * - survival: the workload is detached (its own session, output in files) and re-adopted from its
 *   pid and start time.
 *
 * Never use it to run anything untrusted: it contains nothing (`isolation` says so).
 */
import { spawn } from 'node:child_process';
import { chmodSync, closeSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ExecutorError,
  validateSpec,
  type AdoptionRecord,
  type ExecutionHandle,
  type ExecutionSpec,
  type Executor,
  type ExecutorCapabilities,
  type ExecutorCapacity,
  type ExecutorIsolation,
} from '../executor.ts';
import { isSameProcessAlive, processStartTime, requireTool } from '../host/tools.ts';
import { FAKE_BACKEND, FakeHandle, signalGroup, type FakeAdoptionData } from './fake-handle.ts';

export interface FakeExecutorOptions {
  /** Where workload directories go; kept across FakeExecutors for adoption. Default: a fresh temp dir. */
  stateDir?: string;
  /** What `capacity()` reports (default 8 vCPUs, 8 GiB). */
  capacity?: ExecutorCapacity;
}

/** Runs as the workload's uid when the tests run as root, so that read-only modes bind it. */
const NOBODY = 65534;

/** Moves `listen(8080)` (any form) to the chosen loopback port. */
function preload(port: number): string {
  const source = `
import net from 'node:net';
const listen = net.Server.prototype.listen;
const moved = (p) => p === 8080 || p === '8080';
net.Server.prototype.listen = function (...args) {
  if (moved(args[0])) { args[0] = ${port}; if (typeof args[1] === 'string') args[1] = '127.0.0.1'; }
  else if (args[0] && typeof args[0] === 'object' && moved(args[0].port)) args[0] = { ...args[0], port: ${port}, host: '127.0.0.1' };
  return listen.apply(this, args);
};`;
  return `data:text/javascript,${encodeURIComponent(source)}`;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Files read-only for everyone (executables keep their x bits), directories r-x. */
function makeReadOnly(path: string): void {
  const st = statSync(path);
  if (st.isDirectory()) {
    for (const name of readdirSync(path)) makeReadOnly(join(path, name));
    chmodSync(path, 0o555);
  } else {
    chmodSync(path, (st.mode & 0o111) | 0o444);
  }
}

/** Undoes makeReadOnly on directories, so that a non-root owner can delete the tree. */
function removeTree(dir: string): void {
  const open = (path: string): void => {
    try {
      if (!statSync(path).isDirectory()) return;
      chmodSync(path, 0o755);
      for (const name of readdirSync(path)) open(join(path, name));
    } catch {
      // already gone
    }
  };
  open(dir);
  rmSync(dir, { recursive: true, force: true });
}

function isAdoptionData(data: Record<string, unknown>): data is Record<string, unknown> & FakeAdoptionData {
  return Number.isInteger(data.pid) && Number.isInteger(data.startTime) && Number.isInteger(data.port) && typeof data.dir === 'string';
}

export class FakeExecutor implements Executor {
  readonly name = FAKE_BACKEND;
  readonly capabilities: ExecutorCapabilities = { instances: false, runtimeImages: false, codeFormats: ['zip', 'plain'], volumeFormats: ['zip'], asgi: false, ipv6: false };
  /** Nothing: the workload is a plain process of the test's host (see the file comment). */
  readonly isolation: ExecutorIsolation = { jailed: false, virtualized: false, seccomp: false, cgroups: false, egressFiltered: false };
  readonly stateDir: string;
  readonly #capacity: ExecutorCapacity;
  readonly #handles = new Set<FakeHandle>();
  readonly #prlimit = requireTool('prlimit', 'util-linux');
  readonly #owner = {
    release: (data: FakeAdoptionData) => removeTree(data.dir),
    forget: (handle: FakeHandle) => this.#handles.delete(handle),
  };

  constructor(opts: FakeExecutorOptions = {}) {
    this.stateDir = opts.stateDir ?? mkdtempSync(join(tmpdir(), 'fake-executor-'));
    mkdirSync(this.stateDir, { recursive: true });
    // The workload (nobody, under root) must reach its code below this directory.
    chmodSync(this.stateDir, 0o755);
    this.#capacity = opts.capacity ?? { vcpus: 8, memoryMib: 8192 };
  }

  capacity(): ExecutorCapacity {
    return { ...this.#capacity };
  }

  /** The workload directories present (the conformance suite's leftovers check). */
  hostResources(): { workloads: string[] } {
    return { workloads: existsSync(this.stateDir) ? readdirSync(this.stateDir).sort() : [] };
  }

  async start(spec: ExecutionSpec): Promise<ExecutionHandle> {
    validateSpec(spec);
    if (spec.instance) throw new ExecutorError('UNSUPPORTED', 'the fake executor does not boot instances (capability "instances")');
    if (!/\.(m|c)?js$/.test(spec.code.entrypoint)) throw new ExecutorError('UNSUPPORTED', 'the fake executor runs Node.js entrypoints (.js, .mjs, .cjs) only');
    const dir = join(this.stateDir, spec.id);
    if (existsSync(join(dir, 'adoption.json'))) throw new ExecutorError('INVALID_SPEC', `execution ${spec.id} is live already`);
    removeTree(dir);
    mkdirSync(dir, { mode: 0o755 });
    const codeDir = join(dir, 'code');
    try {
      cpSync(spec.code.dir, codeDir, { recursive: true });
      makeReadOnly(codeDir);
      const port = await freePort();
      const out = openSync(join(dir, 'stdout.log'), 'a');
      const err = openSync(join(dir, 'stderr.log'), 'a');
      const asNobody = process.getuid?.() === 0 ? { uid: NOBODY, gid: NOBODY } : {};
      const memoryBytes = spec.resources.memoryMib * 1024 * 1024;
      const child = spawn(this.#prlimit, [`--data=${memoryBytes}`, '--', process.execPath, '--import', preload(port), join(codeDir, spec.code.entrypoint)], {
        cwd: codeDir,
        env: { ...spec.variables },
        stdio: ['ignore', out, err],
        detached: true,
        ...asNobody,
      });
      closeSync(out);
      closeSync(err);
      const pid = child.pid;
      const startTime = pid === undefined ? undefined : processStartTime(pid);
      if (pid === undefined || startTime === undefined) {
        if (pid !== undefined) signalGroup(pid, 'SIGKILL');
        throw new ExecutorError('START_FAILED', 'the workload process did not start');
      }
      const data: FakeAdoptionData = { pid, startTime, port, dir };
      writeFileSync(join(dir, 'adoption.json'), JSON.stringify(data));
      const handle = new FakeHandle(this.#owner, spec, data, child, 'starting');
      this.#handles.add(handle);
      return handle;
    } catch (err) {
      removeTree(dir);
      if (err instanceof ExecutorError) throw err;
      throw new ExecutorError('START_FAILED', `the fake executor could not start ${spec.id}: ${(err as Error).message}`);
    }
  }

  async adopt(record: AdoptionRecord, spec: ExecutionSpec): Promise<ExecutionHandle | undefined> {
    if (record.backend !== FAKE_BACKEND || record.id !== spec.id || !isAdoptionData(record.data)) return undefined;
    const data: FakeAdoptionData = { pid: record.data.pid, startTime: record.data.startTime, port: record.data.port, dir: record.data.dir };
    // Only a directory of this executor's, named after the id, is ever removed on its behalf.
    if (data.dir !== join(this.stateDir, spec.id)) return undefined;
    if (!isSameProcessAlive(data.pid, data.startTime)) {
      removeTree(data.dir);
      return undefined;
    }
    const handle = new FakeHandle(this.#owner, spec, data, undefined, 'running');
    this.#handles.add(handle);
    return handle;
  }

  async cleanupOrphans(liveIds: ReadonlySet<string>): Promise<void> {
    for (const id of this.hostResources().workloads) {
      if (liveIds.has(id)) continue;
      const dir = join(this.stateDir, id);
      try {
        const data = JSON.parse(readFileSync(join(dir, 'adoption.json'), 'utf8')) as Record<string, unknown>;
        if (isAdoptionData(data) && isSameProcessAlive(data.pid, data.startTime)) signalGroup(data.pid, 'SIGKILL');
      } catch {
        // no record: nothing runs from there
      }
      removeTree(dir);
    }
  }

  async close(): Promise<void> {
    for (const handle of this.#handles) handle.release();
    this.#handles.clear();
  }
}
