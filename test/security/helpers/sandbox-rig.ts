/** A process executor of its own for a sandbox attack test, with the probe workload's code. */
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcessExecutor, type ExecutionHandle, type ExecutionSpec } from '@aleph-nodes/vmm';
import { PROBE_SOURCE } from './sandbox-probe.ts';
import { randomScope } from './sandbox-resources.ts';

export interface SandboxRig {
  root: string;
  scope: string;
  codeDir: string;
  executor: ProcessExecutor;
  spec(overrides?: Partial<ExecutionSpec>): ExecutionSpec;
  /** GET a probe route of a running workload, as JSON. */
  probe<T = Record<string, unknown>>(handle: ExecutionHandle, path: string, timeoutMs?: number): Promise<T>;
}

let counter = 0;

export function createRig(name: string): SandboxRig {
  const root = mkdtempSync(join(tmpdir(), `sec-${name}-`));
  // The executor's staging directory must be traversable by workload uids (the data dir is not).
  chmodSync(root, 0o755);
  const codeDir = join(root, 'code');
  mkdirSync(codeDir, { mode: 0o755 });
  writeFileSync(join(codeDir, 'probe.mjs'), PROBE_SOURCE);
  const scope = randomScope();
  const executor = new ProcessExecutor({ stateDir: join(root, 'state'), scope, stageDir: join(root, 'stage') });
  return {
    root,
    scope,
    codeDir,
    executor,
    spec: (overrides = {}) => ({
      id: `sec-${name}-${process.pid}-${++counter}`,
      code: { dir: codeDir, entrypoint: 'probe.mjs' },
      volumes: [],
      variables: {},
      resources: { vcpus: 1, memoryMib: 256 },
      internet: false,
      ...overrides,
    }),
    async probe<T>(handle: ExecutionHandle, path: string, timeoutMs = 30_000): Promise<T> {
      const res = await fetch(`http://${handle.endpoint.host}:${handle.endpoint.port}${path}`, { signal: AbortSignal.timeout(timeoutMs) });
      if (res.status !== 200) throw new Error(`probe ${path} answered ${res.status}: ${await res.text()}`);
      return (await res.json()) as T;
    },
  };
}

/** The host interface holding `address` (the workload's gateway is on its host-side veth). */
export function interfaceWithAddress(address: string): string | undefined {
  for (const [name, addrs] of Object.entries(networkInterfaces())) {
    if ((addrs ?? []).some((a) => a.address === address)) return name;
  }
  return undefined;
}

/** The gateway (.1) of a workload at `.2` of its /30. */
export function gatewayOf(guestIp: string): string {
  const parts = guestIp.split('.').map(Number);
  return [parts[0], parts[1], parts[2], (parts[3] ?? 2) - 1].join('.');
}

/** The host's own non-loopback IPv4 addresses, except those of the given interface prefixes. */
export function hostAddresses(exceptPrefixes: string[]): string[] {
  const out: string[] = [];
  for (const [name, addrs] of Object.entries(networkInterfaces())) {
    if (exceptPrefixes.some((p) => name.startsWith(p))) continue;
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) out.push(a.address);
  }
  return out;
}
