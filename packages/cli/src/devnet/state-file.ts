/** The devnet's state file: written atomically once everything is ready, removed on stop. */
import { renameSync, rmSync, writeFileSync } from 'node:fs';

export interface DevnetState {
  ccn: { url: string; address: string; pid: number };
  crns: { url: string; hash: string; address: string; pid: number }[];
  runtimes: { node: string };
  /** Root filesystem images an INSTANCE names as `rootfs.parent.ref` (microvm executor only). */
  rootfs: { debian?: string };
  registry: { address: string };
  sample: { program: string; url: string };
}

export function writeStateFile(path: string, state: DevnetState): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(tmp, path);
}

export function removeStateFile(path: string): void {
  rmSync(path, { force: true });
}
