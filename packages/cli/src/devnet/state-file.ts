/**
 * The devnet's state file, read by the network's tools: written atomically once everything is
 * ready, removed on stop. Its shape is fixed: `ccn` is the first of `ccns`, `crns[i].ccn`
 * the URL of the CCN CRN i is linked to, `oracle` the balance/credit oracle key.
 */
import { renameSync, rmSync, writeFileSync } from 'node:fs';

export interface DevnetCcn {
  url: string;
  address: string;
  pid: number;
  key_file: string;
  hash: string;
}

export interface DevnetState {
  ccn: DevnetCcn;
  ccns: (DevnetCcn & { peer_id: string | null; crns: string[] })[];
  crns: { url: string; hash: string; address: string; pid: number; ccn: string }[];
  /** `python`: the Python runtime (microvm executor only). */
  runtimes: { node: string; python?: string };
  /** Root filesystem images an INSTANCE names as `rootfs.parent.ref` (microvm executor only). */
  rootfs: { debian?: string };
  registry: { address: string };
  oracle: { address: string; key_file: string };
  /** Owner of the `pricing` and `settings` aggregates (the Python clients' ALEPH_AGGREGATE_ADDRESS). */
  aggregates: { address: string };
  sample: { program: string; url: string };
  /** aleph's diagnostic program on the Python runtime (microvm only): the CRNs' checkFastapiVmId. */
  diagnostic?: { program: string; url: string; check: string };
}

export function writeStateFile(path: string, state: DevnetState): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(tmp, path);
}

export function removeStateFile(path: string): void {
  rmSync(path, { force: true });
}
