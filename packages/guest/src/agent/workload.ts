/** The program inside the VM: spawned once, its output forwarded line by line, its port polled. */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { WORKLOAD_PORT } from '../protocol.ts';
import type { GuestConfig } from '../protocol.ts';
import { GUEST_API_SOCKET } from './guest-api.ts';
import { CODE_DIR } from './setup.ts';

export interface WorkloadEvents {
  log(stream: 'stdout' | 'stderr', text: string): void;
  ready(): void;
  exited(code: number | null, signal: string | null): void;
}

const NODE_ENTRY = /\.(m|c)?js$/;

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

/** The command that runs `config`'s entrypoint. */
export async function entryCommand(config: GuestConfig): Promise<{ command: string; args: string[] }> {
  if (config.interface === 'asgi') {
    if (!existsSync(ASGI_SERVE) || !existsSync(PYTHON)) throw new Error('this runtime cannot serve ASGI programs (it has no Python); use the Python runtime');
    // Unbuffered: the program's prints reach the log as they happen.
    return { command: PYTHON, args: ['-u', ASGI_SERVE, config.entrypoint] };
  }
  const entry = join(CODE_DIR, config.entrypoint);
  if (NODE_ENTRY.test(entry)) return { command: process.execPath, args: [entry] };
  await chmod(entry, 0o755).catch(() => {}); // read-only squashfs keeps its modes
  return { command: entry, args: [] };
}

export class Workload {
  #child: ChildProcess | undefined;
  #exited = false;
  #exitPromise: Promise<void> | undefined;

  constructor(private readonly events: WorkloadEvents) {}

  async start(config: GuestConfig): Promise<void> {
    const { command, args } = await entryCommand(config);
    const env: Record<string, string> = {
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      HOME: '/root',
      LANG: 'C.UTF-8',
      ...runtimeEnvironment(),
      ...config.variables,
    };
    const child = spawn(command, args, { cwd: CODE_DIR, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
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
    const child = this.#child;
    if (!child || this.#exited || child.pid === undefined) return;
    const pid = child.pid;
    const signal = (sig: NodeJS.Signals) => {
      try {
        process.kill(-pid, sig);
      } catch {
        // already gone
      }
    };
    signal('SIGTERM');
    const timer = setTimeout(() => signal('SIGKILL'), graceMs);
    await this.#exitPromise;
    clearTimeout(timer);
  }
}
