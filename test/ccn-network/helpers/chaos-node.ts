/**
 * A CCN process of the chaos test: bound to its own loopback address for both HTTP and P2P, on
 * ports chosen once (a restart on the same data dir keeps its URL, its multiaddress and its
 * identity), and run with a group id of its own.
 *
 * Why the group: every connection a node opens to 127.0.1.x leaves from 127.0.0.1 (the kernel's
 * source for the loopback route), whatever address the node listens on, so nftables cannot tell
 * the nodes apart by source address. It can by the group that owns the sending socket
 * (`meta skgid`, output hook), and the nodes run as root with a distinct primary group each.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CcnSettings } from '../../ccn/helpers/ccn-process.ts';
import { freePort } from '../../helpers/net.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const ENTRY = join(ROOT, 'packages/ccn/src/main.ts');
/** Warnings and errors kept per node for the failure report (the rest of the log is dropped). */
const KEPT_LINES = 200;

export interface ChaosNode {
  index: number;
  host: string;
  url: string;
  multiaddr: string;
  gid: number;
  dataDir: string;
  readonly running: boolean;
  /** Starts it (again) on its data dir; resolves once it listens. */
  start(): Promise<void>;
  /** SIGKILL: no clean-up at all; the data dir stays. */
  kill(): Promise<void>;
  /** SIGTERM, then SIGKILL after 20 s; resolves when it is gone. */
  stop(): Promise<void>;
  /** Synchronous last resort (process exit): SIGKILL if it runs. */
  killNow(): void;
  /** Warnings and errors it logged (JSON lines), for a failure report. */
  problems: string[];
  starts: number;
}

/** Where a node listens and which group it runs as, chosen before any node starts. */
export interface NodePlan {
  index: number;
  host: string;
  port: number;
  p2pPort: number;
  gid: number;
  url: string;
  multiaddr: string;
}

/** Node i on 127.0.1.(i+1), free ports on that address, group `gidBase + i`. */
export async function planNodes(count: number, gidBase: number): Promise<NodePlan[]> {
  const plans: NodePlan[] = [];
  for (let index = 0; index < count; index++) {
    const host = `127.0.1.${index + 1}`;
    const port = await freePort(host);
    const p2pPort = await freePort(host);
    plans.push({ index, host, port, p2pPort, gid: gidBase + index, url: `http://${host}:${port}`, multiaddr: `/ip4/${host}/tcp/${p2pPort}` });
  }
  return plans;
}

export function makeChaosNode(spec: NodePlan, settings: CcnSettings): ChaosNode {
  const dataDir = mkdtempSync(join(tmpdir(), `ccn-chaos-${spec.index}-`));
  const config = join(dataDir, 'config.json');
  writeFileSync(config, JSON.stringify({ ...settings, dataDir, host: spec.host, port: spec.port, p2pHost: spec.host, p2pPort: spec.p2pPort, logLevel: 'info' }));
  // The node reads the file; CCN_* variables of the developer's shell must not leak in.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CCN_')));
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const node: ChaosNode = {
    index: spec.index,
    host: spec.host,
    url: spec.url,
    multiaddr: spec.multiaddr,
    gid: spec.gid,
    dataDir,
    problems: [],
    starts: 0,
    get running() {
      return child !== undefined;
    },
    async start() {
      if (child) throw new Error(`node ${spec.index} is already running`);
      node.starts++;
      const proc = spawn(process.execPath, ['--import', 'tsx', ENTRY, config], { cwd: ROOT, env, gid: spec.gid, stdio: ['ignore', 'pipe', 'pipe'] });
      child = proc;
      exited = new Promise<void>((resolve) =>
        proc.once('exit', () => {
          if (child === proc) child = undefined;
          resolve();
        }),
      );
      let stderr = '';
      proc.stderr?.on('data', (chunk: Buffer) => {
        stderr = (stderr + chunk.toString('utf8')).slice(-4000);
      });
      await new Promise<void>((resolve, reject) => {
        let buffer = '';
        proc.stdout?.on('data', (chunk: Buffer) => {
          buffer += chunk.toString('utf8');
          for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
            const line = buffer.slice(0, nl);
            buffer = buffer.slice(nl + 1);
            if (line.includes('"msg":"ccn listening"')) resolve();
            if (/"level":(4|5|6)\d/.test(line)) {
              node.problems.push(line.slice(0, 600));
              if (node.problems.length > KEPT_LINES) node.problems.shift();
            }
          }
        });
        proc.once('exit', (code, signal) => reject(new Error(`ccn ${spec.index} exited (${code ?? signal}) before listening: ${stderr}`)));
      });
    },
    async kill() {
      child?.kill('SIGKILL');
      await exited;
    },
    async stop() {
      const proc = child;
      if (!proc) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    },
    killNow() {
      child?.kill('SIGKILL');
    },
  };
  return node;
}

export function removeDataDir(node: ChaosNode): void {
  rmSync(node.dataDir, { recursive: true, force: true });
}
