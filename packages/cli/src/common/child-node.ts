/**
 * One node daemon as a child process (devnet, benchmarks, and the tests' kit in test/kit): its
 * output goes to a log file in its data dir, readiness is its "<name> ready" log line (so the child must log at level info or lower),
 * and stop() sends one SIGTERM, then SIGKILL after a grace period.
 *
 * The child's stdin is a pipe this process never writes to: when this process exits, for whatever
 * reason (SIGKILL included), the kernel closes it and the daemon stops cleanly (run-daemon.ts), so
 * a dead supervisor leaves no node running. With `ownProcessGroup`, the child does not receive the
 * terminal's Ctrl-C: the supervisor alone decides when and in which order its nodes stop.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadOrCreateKeyFile } from '@aleph-nodes/service';
import { createInterface } from 'node:readline';
import { STOP_WITH_PARENT_ENV } from './stop-requests.ts';

export interface ChildNodeSpec {
  /** `ccn` or `crn`: the bin to run and the log line to wait for. */
  kind: 'ccn' | 'crn';
  label: string;
  args: string[];
  env?: Record<string, string>;
  logFile: string;
  binDir: string;
  readyTimeoutMs: number;
  /** Start the child in a process group of its own (out of reach of the terminal's signals). */
  ownProcessGroup?: boolean;
  /** Variables of this process NOT passed on, by prefix (a test's node must not read the developer's `CCN_*`). */
  dropEnvPrefixes?: string[];
  /** Called with every JSON log line of the child (tests read what a node logged). */
  onLogLine?: (entry: Record<string, unknown>) => void;
}

export interface ChildNode {
  label: string;
  url: string;
  address: string;
  pid: number;
  stop(timeoutMs?: number): Promise<void>;
  /** Resolves when the process exits, for whatever reason. */
  exited: Promise<number | null>;
  /** Sends `signal` to the child (SIGKILL for crash tests, SIGSTOP/SIGCONT to freeze it); nothing once it is gone. */
  signal(signal: NodeJS.Signals): void;
}

/** A child from the moment it is spawned, before it is ready (so that it can be stopped then too). */
export interface SpawnedNode {
  label: string;
  pid: number;
  /** Resolves once the node logged it is ready; rejects (after killing it) if it never does. */
  ready: Promise<ChildNode>;
  exited: Promise<number | null>;
  /** One SIGTERM (never a second one), SIGKILL after `timeoutMs`; resolves when the child is gone. */
  stop(timeoutMs?: number): Promise<void>;
  signal(signal: NodeJS.Signals): void;
  readonly running: boolean;
}

/**
 * `start` never creates a node key (only `init` does): a supervisor that writes its nodes' config
 * files (the devnet, the benchmarks) provisions their keys as `init` would, before the first start.
 */
function provisionKey(args: readonly string[]): void {
  const i = args.indexOf('--config');
  const file = i >= 0 ? args[i + 1] : undefined;
  if (!file) return;
  try {
    const config = JSON.parse(readFileSync(file, 'utf8')) as { dataDir?: unknown; keyFile?: unknown };
    const keyFile = typeof config.keyFile === 'string' && config.keyFile ? config.keyFile : typeof config.dataDir === 'string' ? join(config.dataDir, 'node.key') : undefined;
    if (keyFile) loadOrCreateKeyFile(keyFile);
  } catch {
    // an unreadable config or key: the node itself says what is wrong
  }
}

export function spawnChildNode(spec: ChildNodeSpec): SpawnedNode {
  provisionKey(spec.args);
  const drop = spec.dropEnvPrefixes ?? [];
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !drop.some((prefix) => name.startsWith(prefix))));
  const child: ChildProcess = spawn(process.execPath, [`${spec.binDir}/${spec.kind}.js`, 'start', ...spec.args], {
    env: { ...inherited, ...spec.env, [STOP_WITH_PARENT_ENV]: '1' },
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: spec.ownProcessGroup === true,
  });
  const log = createWriteStream(spec.logFile, { flags: 'a' });
  child.stderr?.pipe(log, { end: false });
  // The child ending first must not make a write to its stdin throw (nothing is written anyway).
  child.stdin?.on('error', () => {});
  let gone = false;
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      gone = true;
      resolve(code);
    });
    child.once('error', () => {
      gone = true;
      resolve(null);
    });
  });
  let signalled = false;
  const stop = async (timeoutMs = 15_000): Promise<void> => {
    if (!gone && !signalled) {
      signalled = true;
      child.kill('SIGTERM');
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
    log.end();
  };
  const signal = (sig: NodeJS.Signals): void => {
    if (!gone) child.kill(sig);
  };

  const lines = createInterface({ input: child.stdout! });
  const ready = new Promise<{ url: string; address: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${spec.label} was not ready within ${spec.readyTimeoutMs} ms (see ${spec.logFile})`)), spec.readyTimeoutMs);
    lines.on('line', (line) => {
      log.write(`${line}\n`);
      try {
        const entry = JSON.parse(line) as { msg?: string; url?: string; address?: string; level?: number };
        if (typeof entry === 'object' && entry !== null) spec.onLogLine?.(entry as Record<string, unknown>);
        if (entry.msg === `${spec.kind} ready` && entry.url && entry.address) {
          clearTimeout(timer);
          resolve({ url: entry.url, address: entry.address });
        }
      } catch {
        // not a JSON log line: kept in the log file only
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${spec.label} exited with code ${code} before it was ready (see ${spec.logFile})`));
    });
  });
  const pid = child.pid ?? -1;
  const node: ChildNode = { label: spec.label, url: '', address: '', pid, exited, stop, signal };
  return {
    label: spec.label,
    pid,
    exited,
    stop,
    signal,
    get running() {
      return !gone;
    },
    ready: ready.then(
      (info) => ({ ...node, url: info.url, address: info.address }),
      async (err: unknown) => {
        if (!gone) child.kill('SIGKILL');
        await exited;
        throw err;
      },
    ),
  };
}

export async function startChildNode(spec: ChildNodeSpec): Promise<ChildNode> {
  return spawnChildNode(spec).ready;
}
