/**
 * CPU time of processes from /proc (user + system, in microseconds), to split the cost of a
 * request between the CRN and the workload: on a host whose cores the client, the CRN and the
 * workload share, the CRN's CPU per request bounds its throughput against the direct path.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const USER_HZ = 100;

function stat(pid: number): { ppid: number; cpuUs: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at ") ".
    const fields = text.slice(text.lastIndexOf(') ') + 2).split(' ');
    return { ppid: Number(fields[1]), cpuUs: ((Number(fields[11]) + Number(fields[12])) * 1e6) / USER_HZ };
  } catch {
    return undefined;
  }
}

/** CPU time of one process. */
export function cpuUs(pid: number): number {
  return stat(pid)?.cpuUs ?? Number.NaN;
}

/** CPU time of every descendant of `pid` alive now (the workloads a CRN started). */
export function descendantsCpuUs(pid: number): number {
  const parent = new Map<number, { ppid: number; cpuUs: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const s = stat(Number(entry));
    if (s) parent.set(Number(entry), s);
  }
  const isDescendant = (p: number): boolean => {
    for (let cur = parent.get(p)?.ppid, hops = 0; cur !== undefined && cur > 1 && hops < 64; cur = parent.get(cur)?.ppid, hops++) {
      if (cur === pid) return true;
    }
    return false;
  };
  let total = 0;
  for (const [p, s] of parent) if (isDescendant(p)) total += s.cpuUs;
  return total;
}
