/**
 * The program inside the VM: spawned once (or handed to the language started ahead in a warm pool
 * VM, launcher.ts), its output forwarded line by line, its port polled.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { WORKLOAD_PORT } from '../protocol.ts';
import type { GuestConfig, PrestartKind } from '../protocol.ts';
import { GUEST_API_SOCKET } from './guest-api.ts';
import { encodeLaunchRequest, LAUNCHER_FLAG, LAUNCHER_READY_FD, LAUNCHER_READY_VARIABLE, launcherFits, NODE_ENTRY } from './launcher.ts';
import { CODE_DIR } from './setup.ts';

export interface WorkloadEvents {
  log(stream: 'stdout' | 'stderr', text: string): void;
  ready(): void;
  exited(code: number | null, signal: string | null): void;
  /** The launcher started ahead waits for its program (or ended before it did). */
  prestarted(ok: boolean, error?: string): void;
}

/** The Python runtime's packages and ASGI server (runtime-python.ts); absent from the Node runtime. */
export const PYTHON_LIBS_DIR = '/opt/aleph/libs';
export const ASGI_SERVE = '/opt/aleph/asgi_serve.py';
const PYTHON = '/usr/bin/python3';

/**
 * What aleph's runtimes give every program, before the message's own variables (which win, as
 * in aleph's init): the guest API on its Unix socket, and the runtime's Python packages.
 * ALEPH_ADDRESS_TO_USE comes from the host with the variables.
 */
export function runtimeEnvironment(): Record<string, string> {
  return {
    ALEPH_INIT_VERSION: 'aleph-nodes-2',
    ALEPH_API_HOST: 'http://localhost',
    ALEPH_API_UNIX_SOCKET: GUEST_API_SOCKET,
    ALEPH_REMOTE_CRYPTO_HOST: 'http://localhost',
    ALEPH_REMOTE_CRYPTO_UNIX_SOCKET: GUEST_API_SOCKET,
    ...(existsSync(PYTHON_LIBS_DIR) ? { PYTHONPATH: PYTHON_LIBS_DIR } : {}),
  };
}

function hasPython(): boolean {
  return existsSync(ASGI_SERVE) && existsSync(PYTHON);
}

/** What every program process starts with, before the message's variables. */
function baseEnvironment(): Record<string, string> {
  return { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root', LANG: 'C.UTF-8', ...runtimeEnvironment() };
}

/** The command of a launcher of `kind`; undefined when this runtime cannot start it. */
function launcherCommand(kind: PrestartKind): { command: string; args: string[] } | undefined {
  if (kind === 'asgi') return hasPython() ? { command: PYTHON, args: ['-u', ASGI_SERVE, '--wait'] } : undefined;
  // This agent's own bundle, in launcher mode (main.ts).
  const bundle = process.argv[1];
  return bundle ? { command: process.execPath, args: [bundle, LAUNCHER_FLAG] } : undefined;
}

/** The command that runs `config`'s entrypoint. */
export async function entryCommand(config: GuestConfig): Promise<{ command: string; args: string[] }> {
  if (config.interface === 'asgi') {
    if (!hasPython()) throw new Error('this runtime cannot serve ASGI programs (it has no Python); use the Python runtime');
    // Unbuffered: the program's prints reach the log as they happen.
    return { command: PYTHON, args: ['-u', ASGI_SERVE, config.entrypoint] };
  }
  const entry = join(CODE_DIR, config.entrypoint);
  if (NODE_ENTRY.test(entry)) return { command: process.execPath, args: [entry] };
  await chmod(entry, 0o755).catch(() => {}); // read-only squashfs keeps its modes
  return { command: entry, args: [] };
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

export class Workload {
  #child: ChildProcess | undefined;
  /** `settle()` ends its readiness report: a launcher taken or ended has nothing more to say. */
  #launcher: { kind: PrestartKind; child: ChildProcess; settle(): void } | undefined;
  #exited = false;
  #exitPromise: Promise<void> | undefined;

  constructor(private readonly events: WorkloadEvents) {}

  /** Starts a `kind` launcher that the program will be handed to (a warm pool VM, before any program). */
  prestart(kind: PrestartKind): boolean {
    const launcher = launcherCommand(kind);
    if (!launcher || this.#launcher || this.#child) return false;
    // Not yet configured: the code drive is not mounted, so it starts in /. It says it waits
    // on a pipe of its own (LAUNCHER_READY_FD), not on the program's output.
    const env = { ...baseEnvironment(), [LAUNCHER_READY_VARIABLE]: String(LAUNCHER_READY_FD) };
    const child = spawn(launcher.command, launcher.args, { cwd: '/', env, stdio: ['pipe', 'pipe', 'pipe', 'pipe'], detached: true });
    let reported = false;
    const report = (ok: boolean, error?: string): void => {
      if (reported) return;
      reported = true;
      this.events.prestarted(ok, error);
    };
    child.on('error', (err) => report(false, err.message)); // not used then (#takeLauncher)
    child.on('exit', (code, signal) => report(false, `${kind} ended before its program (${code ?? signal})`));
    const ready = child.stdio[LAUNCHER_READY_FD] as NodeJS.ReadableStream | null;
    ready?.on('data', () => report(true));
    ready?.on('error', () => {});
    this.#launcher = { kind, child, settle: () => void (reported = true) };
    return true;
  }

  /**
   * The started launcher when `config`'s program can become it (none given: never); any other
   * is ended. Either way it leaves the workload and reports nothing more.
   */
  #takeLauncher(config: GuestConfig | undefined): ChildProcess | undefined {
    const launcher = this.#launcher;
    this.#launcher = undefined;
    if (!launcher) return undefined;
    const { child, kind } = launcher;
    launcher.settle();
    const alive = child.pid !== undefined && child.exitCode === null && child.signalCode === null;
    if (alive && config && launcherFits(kind, config)) return child;
    killGroup(child, 'SIGKILL');
    return undefined;
  }

  async start(config: GuestConfig): Promise<void> {
    const { command, args } = await entryCommand(config);
    let child = this.#takeLauncher(config);
    if (child) {
      const target = config.interface === 'asgi' ? config.entrypoint : join(CODE_DIR, config.entrypoint);
      child.stdin?.on('error', () => {}); // a launcher that died meanwhile is reported by 'close'
      child.stdin?.end(encodeLaunchRequest({ target, cwd: CODE_DIR, env: config.variables }));
    } else {
      const env: Record<string, string> = { ...baseEnvironment(), ...config.variables };
      child = spawn(command, args, { cwd: CODE_DIR, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    }
    this.#child = child;
    this.#exitPromise = new Promise((resolve) => {
      child.on('error', (err) => {
        this.events.log('stderr', `failed to start ${config.entrypoint}: ${err.message}`);
      });
      child.on('close', (code, signal) => {
        this.#exited = true;
        this.events.exited(code, signal);
        resolve();
      });
    });
    for (const stream of ['stdout', 'stderr'] as const) {
      let partial = '';
      const source = child[stream];
      source?.setEncoding('utf8');
      source?.on('data', (chunk: string) => {
        const lines = (partial + chunk).split('\n');
        partial = lines.pop() ?? '';
        if (partial.length > 16384) {
          lines.push(partial);
          partial = '';
        }
        for (const line of lines) this.events.log(stream, line);
      });
      source?.on('end', () => {
        if (partial) this.events.log(stream, partial);
        partial = '';
      });
    }
    void this.#pollReady();
  }

  async #pollReady(): Promise<void> {
    while (!this.#exited) {
      const ok = await new Promise<boolean>((resolve) => {
        const socket = connect({ host: '127.0.0.1', port: WORKLOAD_PORT });
        socket.once('connect', () => {
          socket.destroy();
          resolve(true);
        });
        socket.once('error', () => resolve(false));
      });
      if (ok) {
        if (!this.#exited) this.events.ready();
        return;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** SIGTERM to the program's process group, SIGKILL after `graceMs`. */
  async stop(graceMs: number): Promise<void> {
    this.#takeLauncher(undefined);
    const child = this.#child;
    if (!child || this.#exited || child.pid === undefined) return;
    killGroup(child, 'SIGTERM');
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), graceMs);
    await this.#exitPromise;
    clearTimeout(timer);
  }
}
