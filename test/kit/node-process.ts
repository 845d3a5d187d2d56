/**
 * A CCN or CRN daemon as a child process, for integration tests: the operators' own `ccn start` /
 * `crn start --config FILE` through the same spawner as the devnet (`spawnChildNode` of
 * @aleph-nodes/cli), so that tests run the production entry point. The kit adds what tests need:
 * a JSON config written into the data dir, test defaults, the log lines in memory, SIGKILL.
 *
 * The child stops with this process (its stdin closes), so a crashed test leaves no node behind.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnChildNode } from '@aleph-nodes/cli';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN_DIR = join(REPO_ROOT, 'packages/cli/bin');

export type NodeKind = 'ccn' | 'crn';
/** Settings written to the JSON config file the node reads (see `ccn config`, `crn config`). */
export type NodeSettings = Record<string, unknown>;

export interface NodeProcess {
  kind: NodeKind;
  url: string;
  /** The node key's address. */
  address: string;
  pid: number;
  dataDir: string;
  /** The node's output (stdout and stderr). */
  logFile: string;
  /** Every JSON log line so far. */
  logs: Record<string, unknown>[];
  /** Resolves with the exit code once the process has ended. */
  exited: Promise<number | null>;
  readonly running: boolean;
  /** SIGTERM (SIGKILL after 30 s), wait for the exit; removes the data dir when the kit made it. */
  stop(): Promise<void>;
  /** SIGKILL, wait for the exit: no clean-up at all (crash tests); the data dir stays. */
  kill(): Promise<void>;
  /** Any other signal (SIGSTOP/SIGCONT to freeze a node). */
  signal(signal: NodeJS.Signals): void;
}

export interface StartNodeOptions {
  /** The node's data dir (kept by `stop()`); default: a fresh temp dir, removed by `stop()`. */
  dataDir?: string;
  /**
   * Run from this existing config file (a devnet node's) instead of writing one: `settings` are
   * ignored, its output goes beside it, and nothing is removed by `stop()`.
   */
  configFile?: string;
  readyTimeoutMs?: number;
}

/**
 * Test defaults: loopback, ephemeral ports, payments not enforced (the tests' users hold no
 * tokens; test/payments turns them on), fast retries. `logLevel` is at least `info`: readiness
 * is the node's `<kind> ready` log line (the output goes to a file, not to the test's).
 */
const DEFAULTS: Record<NodeKind, NodeSettings> = {
  ccn: { port: 0, p2pPort: 0, host: '127.0.0.1', retryBaseMs: 20, retryMaxMs: 100, paymentChecks: false },
  crn: { port: 0, host: '127.0.0.1', enforcePayments: false },
};

export async function startNodeProcess(kind: NodeKind, settings: NodeSettings = {}, opts: StartNodeOptions = {}): Promise<NodeProcess> {
  const ownDir = !opts.dataDir && !opts.configFile;
  const dataDir = opts.dataDir ?? (opts.configFile ? dirname(opts.configFile) : mkdtempSync(join(tmpdir(), `${kind}-test-`)));
  const verbose = settings.logLevel === 'debug' || settings.logLevel === 'trace';
  const run = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const configFile = opts.configFile ?? join(dataDir, `config-${run}.json`);
  if (!opts.configFile) writeFileSync(configFile, JSON.stringify({ ...DEFAULTS[kind], dataDir, ...settings, logLevel: verbose ? settings.logLevel : 'info' }));
  const logs: Record<string, unknown>[] = [];
  const logFile = join(dataDir, `${kind}-${run}.log`);
  const spawned = spawnChildNode({
    kind,
    label: `${kind} ${basename(dataDir)}`,
    args: ['--config', configFile],
    logFile,
    binDir: BIN_DIR,
    readyTimeoutMs: opts.readyTimeoutMs ?? 120_000,
    dropEnvPrefixes: ['CCN_', 'CRN_'],
    onLogLine: (entry) => logs.push(entry),
  });
  const removeOwnDir = (): void => {
    if (ownDir) rmSync(dataDir, { recursive: true, force: true });
  };
  let ready;
  try {
    ready = await spawned.ready;
  } catch (err) {
    let tail = '';
    try {
      tail = readFileSync(logFile, 'utf8').slice(-4000);
    } catch {
      // no output at all
    }
    removeOwnDir();
    throw new Error(`${(err as Error).message}\n${tail}`);
  }
  return {
    kind,
    url: ready.url,
    address: ready.address,
    pid: spawned.pid,
    dataDir,
    logFile,
    logs,
    exited: spawned.exited,
    get running() {
      return spawned.running;
    },
    async stop() {
      await spawned.stop(30_000);
      removeOwnDir();
    },
    async kill() {
      spawned.signal('SIGKILL');
      await spawned.exited;
    },
    signal: (sig) => spawned.signal(sig),
  };
}
