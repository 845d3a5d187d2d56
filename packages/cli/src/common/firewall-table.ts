/**
 * The executors keep their nftables tables when a CRN stops, as a production host wants: the
 * microVM executor's `inet aleph_microvm`, and one `inet aleph_process_<scope>` per process
 * executor (removed by the executor itself when none of its workloads is left). Commands that
 * start CRNs for a while (devnet, benchmarks) call this before they start any and the returned
 * function when everything has stopped: it removes the tables that did not exist before and
 * hold no live workload state (interfaces with internet access, port forwards).
 *
 * nft runs by its absolute path, from the distribution's directories.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { FIREWALL_TABLE, PROCESS_FIREWALL_TABLE_PREFIX, findTool } from '@aleph-nodes/vmm';

function nft(args: string[]): string | undefined {
  const path = findTool('nft');
  if (!path) return undefined;
  try {
    return execFileSync(path, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
}

/** Our tables present now: the microVM one and every process executor's. */
export function workloadTables(): string[] {
  const out = nft(['list', 'tables', 'inet']) ?? '';
  return out
    .split('\n')
    .map((l) => /^table inet (\S+)$/.exec(l.trim())?.[1])
    .filter((t): t is string => t !== undefined && (t === FIREWALL_TABLE || t.startsWith(PROCESS_FIREWALL_TABLE_PREFIX)));
}

/**
 * True when a table still protects or serves a workload: an interface its rules match exists
 * (a workload without internet has no element, but the table's input rule guards the host from
 * it), or its `internet` set or `portfwd` map has elements. The egress deny lists and the host's
 * subnets are always filled and do not count.
 */
export function tableInUse(table: string): boolean {
  const text = nft(['list', 'table', 'inet', table]);
  const json = nft(['-j', 'list', 'table', 'inet', table]);
  if (text === undefined || json === undefined) return false;
  const prefixes = new Set([...text.matchAll(/iifname "([^"*]+)\*"/g)].map((m) => m[1] as string));
  let links: string[] = [];
  try {
    links = readdirSync('/sys/class/net');
  } catch {
    // no sysfs: judge by the elements only
  }
  if (links.some((l) => [...prefixes].some((p) => l.startsWith(p)))) return true;
  const doc = JSON.parse(json) as { nftables?: Array<{ set?: { name: string; elem?: unknown[] }; map?: { name: string; elem?: unknown[] } }> };
  return (doc.nftables ?? []).some((item) => {
    const obj = item.set ?? item.map;
    return obj !== undefined && (obj.name === 'internet' || obj.name === 'portfwd') && (obj.elem?.length ?? 0) > 0;
  });
}

export function firewallTableGuard(): () => void {
  const existed = new Set(workloadTables());
  return () => {
    for (const table of workloadTables()) {
      // Elements mean workloads of someone else still use the table (another CRN on this host).
      if (existed.has(table) || tableInUse(table)) continue;
      nft(['delete', 'table', 'inet', table]);
    }
  };
}
