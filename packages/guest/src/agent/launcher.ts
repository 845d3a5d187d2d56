/**
 * Pre-started languages (KERNEL_ARG.prestart): a warm pool VM's agent starts the language while
 * it waits for a program, and the program that takes the VM is imported into that waiting
 * process, saving the second language start of a cold start (under TCG, most of it).
 *
 * - Node.js: this same bundle, run with `LAUNCHER_FLAG`, waits for one request line on stdin,
 *   then becomes the program: variables set, working directory, `process.argv[1]`, and Node's own
 *   main-module loader (CommonJS or ES module, `require.main` as with `node entry.js`).
 * - Python: `asgi_serve.py --wait` imports uvicorn (and FastAPI when installed), then reads the
 *   same request line and serves the app.
 *
 * The launcher runs as the program would (same user, process group, pipes): it is the program's
 * process, not the agent's. Variables that only act when an interpreter starts (NODE_OPTIONS,
 * PYTHONPATH, LD_PRELOAD, …) cannot be applied to a started one: such a program gets a fresh
 * process instead, as does an entrypoint of another kind than the one started.
 */
import { closeSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { GuestConfig, PrestartKind } from '../protocol.ts';
import { KERNEL_ARG, PRESTART_KINDS } from '../protocol.ts';

/** The agent bundle's argument that makes it a Node.js launcher instead of the agent. */
export const LAUNCHER_FLAG = '--aleph-launcher';

/**
 * The descriptor a launcher writes one line to once it waits for its request, named by this
 * variable (removed before the program runs): only a launcher started by the agent has it.
 */
export const LAUNCHER_READY_FD = 3;
export const LAUNCHER_READY_VARIABLE = 'ALEPH_LAUNCHER_READY_FD';

/** Says "ready" on the descriptor the agent gave, then closes it, so the program never sees it. */
export function signalReady(): void {
  const fd = Number(process.env[LAUNCHER_READY_VARIABLE]);
  delete process.env[LAUNCHER_READY_VARIABLE];
  if (fd !== LAUNCHER_READY_FD) return;
  try {
    writeSync(fd, 'ready\n');
    closeSync(fd);
  } catch {
    // the agent stopped listening: nothing to tell
  }
}

/** The one line a launcher reads: what to run, with which variables. */
export interface LaunchRequest {
  /** Node.js: the entrypoint's absolute path. Python: the ASGI `module:attribute`. */
  target: string;
  /** Working directory (the code's, as a fresh start gets). */
  cwd: string;
  env: Record<string, string>;
}

/** Longest request line (the variables of a message are far smaller). */
const MAX_REQUEST_BYTES = 1024 * 1024;

/** Variables read only when an interpreter or the dynamic linker starts. */
const STARTUP_ONLY = /^(NODE_|PYTHON|LD_|UV_|OPENSSL_|MALLOC_)/;

/** Entrypoints Node.js runs (anything else in the code is executed as it is). */
export const NODE_ENTRY = /\.(m|c)?js$/;

/** The kind the kernel command line asks this VM to start ahead, if any. */
export function prestartFromCmdline(cmdline: string): PrestartKind | undefined {
  for (const word of cmdline.trim().split(/\s+/)) {
    if (!word.startsWith(KERNEL_ARG.prestart)) continue;
    const kind = word.slice(KERNEL_ARG.prestart.length);
    return (PRESTART_KINDS as readonly string[]).includes(kind) ? (kind as PrestartKind) : undefined;
  }
  return undefined;
}

/** The kind of process `config` runs in, when a launcher can host it. */
export function launchKindOf(config: Pick<GuestConfig, 'interface' | 'entrypoint'>): PrestartKind | undefined {
  if (config.interface === 'asgi') return 'asgi';
  return NODE_ENTRY.test(config.entrypoint) ? 'node' : undefined;
}

/** Whether a started `kind` launcher can become `config`'s program. */
export function launcherFits(kind: PrestartKind, config: Pick<GuestConfig, 'interface' | 'entrypoint' | 'variables'>): boolean {
  return launchKindOf(config) === kind && !Object.keys(config.variables).some((name) => STARTUP_ONLY.test(name));
}

export function encodeLaunchRequest(request: LaunchRequest): string {
  return JSON.stringify(request) + '\n';
}

/** Parses the request line; throws on anything but a target string and string variables. */
export function decodeLaunchRequest(line: string): LaunchRequest {
  const parsed = JSON.parse(line) as Partial<LaunchRequest> | null;
  if (typeof parsed?.target !== 'string' || parsed.target === '') throw new Error('launch request without a target');
  if (typeof parsed.cwd !== 'string' || !parsed.cwd.startsWith('/')) throw new Error('launch request without an absolute working directory');
  const env = parsed.env;
  if (typeof env !== 'object' || env === null || Object.values(env).some((v) => typeof v !== 'string')) throw new Error('launch request variables must be strings');
  return { target: parsed.target, cwd: parsed.cwd, env: env as Record<string, string> };
}

/** Reads stdin up to the first newline (bounded), then stops reading it. */
function readRequestLine(): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    process.stdin.setEncoding('utf8');
    const onData = (chunk: string): void => {
      buffer += chunk;
      const end = buffer.indexOf('\n');
      if (end >= 0) {
        process.stdin.off('data', onData);
        process.stdin.destroy();
        resolve(buffer.slice(0, end));
      } else if (buffer.length > MAX_REQUEST_BYTES) {
        reject(new Error('launch request too long'));
      }
    };
    process.stdin.on('data', onData);
    process.stdin.once('end', () => reject(new Error('stdin closed before a launch request')));
  });
}

/** The Node.js launcher: waits for its request, then runs the entrypoint as `node <entry>` would. */
export async function runNodeLauncher(): Promise<void> {
  const line = readRequestLine();
  signalReady();
  const request = decodeLaunchRequest(await line);
  Object.assign(process.env, request.env);
  process.chdir(request.cwd);
  process.argv = [process.argv[0] as string, request.target];
  // Node's own main-module entry (`node file` runs the same): picks CommonJS or ES module and
  // sets require.main. Typed loosely: @types/node does not declare it.
  const loader = createRequire(import.meta.url)('node:module') as { runMain(main?: string): void };
  loader.runMain(request.target);
}
