/**
 * Keeps the bench's bare-boot VMs off subnets another VM network on this host already routes.
 *
 * Tap numbers are leased with one exclusive file per number in a lease directory
 * (packages/vmm/src/microvm/tap.ts), which skips numbers whose interface of *its own prefix*
 * exists. A network with another prefix on the same pool (a test's `ctap4`, a CRN's `vmtap4`)
 * is not seen, and two taps would then hold the same /24: the host routes the guest address to
 * either. Before its bare boots, the bench writes a lease file in its own lease directory for
 * every number whose /24 is routed already, so that createTap takes a free one.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_TAP_POOL, tapAddresses } from '@aleph-nodes/vmm';

/** The IPv4 /24 networks routed on this host (`ip -4 route`), as `a.b.c.0/24`. */
export function routedSubnets(routes: string): Set<string> {
  const found = new Set<string>();
  for (const line of routes.split('\n')) {
    const m = /^(\d+\.\d+\.\d+)\.\d+\/24\s/.exec(line.trim());
    if (m) found.add(`${m[1]}.0/24`);
  }
  return found;
}

/** Writes lease files in `leaseDir` for the pool numbers whose subnet is routed; returns them. */
export function reserveRoutedSubnets(leaseDir: string, firstId: number = DEFAULT_TAP_POOL.firstId, lastId = 4095): number[] {
  const routed = routedSubnets(execFileSync('ip', ['-4', 'route', 'show'], { encoding: 'utf8', timeout: 10_000 }));
  mkdirSync(leaseDir, { recursive: true });
  const reserved: number[] = [];
  for (let id = firstId; id <= lastId; id++) {
    const { hostIp } = tapAddresses(DEFAULT_TAP_POOL, id);
    if (!routed.has(`${hostIp.replace(/\.\d+$/, '')}.0/24`)) continue;
    try {
      const fd = openSync(join(leaseDir, String(id)), 'wx');
      writeSync(fd, 'bench: subnet routed by another interface');
      closeSync(fd);
      reserved.push(id);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  return reserved;
}
