/**
 * Workloads started by the earlier process backend (no jail, the host's root filesystem, an
 * iptables MASQUERADE rule for `internet`) are not adopted by this one: a restarted supervisor
 * stops them and frees what they held, and the supervisor starts them again in the jail.
 */
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { promisify } from 'node:util';
import type { Cgroup } from '../host/cgroups.ts';
import { findTool } from '../host/tools.ts';
import { destroyNetwork, type NetworkConfig, type NetworkInfo } from './network.ts';

const run = promisify(execFile);

interface LegacyData {
  net?: NetworkInfo;
  dir?: string;
}

export async function releaseLegacy(cfg: NetworkConfig, data: LegacyData, cgroup: Cgroup): Promise<void> {
  await cgroup.destroy().catch(() => undefined);
  const net = data.net;
  if (net) {
    const iptables = findTool('iptables');
    if (net.internet && iptables) {
      await run(iptables, ['-t', 'nat', '-D', 'POSTROUTING', '-s', `${net.guestIp}/32`, '!', '-o', net.hostIf, '-j', 'MASQUERADE'], { timeout: 10_000 }).catch(() => undefined);
    }
    await destroyNetwork(cfg, net);
  }
  if (data.dir) rmSync(data.dir, { recursive: true, force: true });
}
