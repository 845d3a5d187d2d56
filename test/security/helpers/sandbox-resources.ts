/**
 * Host resources a sandbox test may create, restricted to the names it owns (other test runs on
 * this machine create their own at the same time): network namespaces, links, nft tables, ip
 * rules, cgroups, mounts (in any mount namespace) and loop devices that mention the test's names.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';

export interface Owned {
  /** Substrings of names the test owns (the executor scope, the fixture's tag). */
  names: string[];
  /** Directories the test owns (mounts and loop devices under them are its own). */
  dirs: string[];
}

export interface Snapshot {
  netns: string[];
  links: string[];
  tables: string[];
  rules: string[];
  cgroups: string[];
  mounts: string[];
  loops: string[];
  dirs: string[];
}

/** A random 4-character executor scope. */
export function randomScope(): string {
  return randomBytes(8).toString('hex').replace(/[^a-z0-9]/g, '').slice(0, 4);
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function cgroupNames(): string[] {
  const bases = ['/sys/fs/cgroup/aleph-vmm', '/sys/fs/cgroup/memory/aleph-vmm', '/sys/fs/cgroup/pids/aleph-vmm', '/sys/fs/cgroup/cpu/aleph-vmm'];
  return bases.flatMap((b) => list(b).map((n) => `${b}/${n}`));
}

function allMountLines(): string[] {
  const out = new Set<string>();
  for (const pid of list('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      for (const line of readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n')) out.add(line);
    } catch {
      // gone
    }
  }
  return [...out];
}

function loopBackings(): string[] {
  return list('/sys/block')
    .filter((n) => n.startsWith('loop'))
    .map((n) => {
      try {
        return `${n} ${readFileSync(`/sys/block/${n}/loop/backing_file`, 'utf8').trim()}`;
      } catch {
        return '';
      }
    })
    .filter(Boolean);
}

export function snapshot(owned: Owned): Snapshot {
  const mine = (s: string): boolean => owned.names.some((n) => s.includes(n)) || owned.dirs.some((d) => s.includes(d));
  const nft = ((): string[] => {
    try {
      return execFileSync('/usr/sbin/nft', ['list', 'tables'], { encoding: 'utf8' }).split('\n');
    } catch {
      return [];
    }
  })();
  const rules = ((): string[] => {
    try {
      return execFileSync('/usr/bin/ip', ['rule', 'list'], { encoding: 'utf8' }).split('\n');
    } catch {
      return [];
    }
  })();
  return {
    netns: list('/run/netns').filter(mine),
    links: list('/sys/class/net').filter(mine),
    tables: nft.filter(mine),
    rules: rules.filter(mine),
    cgroups: cgroupNames().filter(mine),
    mounts: allMountLines().filter(mine),
    loops: loopBackings().filter(mine),
    dirs: owned.dirs.filter((d) => existsSync(d)),
  };
}
