/**
 * The microVM executor keeps its nftables table (`inet aleph_microvm`) when a CRN stops, as a
 * production host wants. Commands that start CRNs for a while (devnet, benchmarks) call this
 * before they start any and the returned function when everything has stopped: it removes the
 * table only when it did not exist before and no VM forwards or internet access remain in it.
 */
import { execFileSync } from 'node:child_process';
import { FIREWALL_TABLE } from '@aleph-nodes/vmm';

function listTable(): string | undefined {
  try {
    return execFileSync('nft', ['list', 'table', 'inet', FIREWALL_TABLE], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
}

export function firewallTableGuard(): () => void {
  const existed = listTable() !== undefined;
  return () => {
    if (existed) return;
    const table = listTable();
    // Elements mean VMs of someone else still use the table (another CRN on this host).
    if (table === undefined || /elements = /.test(table)) return;
    try {
      execFileSync('nft', ['delete', 'table', 'inet', FIREWALL_TABLE], { stdio: 'ignore' });
    } catch {
      // removed concurrently, or nft unavailable: nothing to undo
    }
  };
}
