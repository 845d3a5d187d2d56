/**
 * Host facts the backends depend on: tool paths and process identity in /proc.
 *
 * Tools run as root are found in the distribution's own directories only, never through `PATH`
 * (which a service manager, a shell profile or a tenant-influenced environment could change) and
 * never in /usr/local, which holds what an admin dropped there by hand.
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import { join } from 'node:path';

const SEARCH_PATH = ['/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** Absolute path of an executable, or undefined. */
export function findTool(name: string): string | undefined {
  for (const dir of SEARCH_PATH) {
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // next
    }
  }
  return undefined;
}

/** Absolute path of an executable, or an Error naming the tool and its Debian package. */
export function requireTool(name: string, debianPackage: string): string {
  const path = findTool(name);
  if (!path) throw new Error(`${name} is not installed in ${SEARCH_PATH.join(', ')} (Debian package ${debianPackage})`);
  return path;
}

/** The tools the process backend runs as root, each by absolute path. */
export interface HostTools {
  sh: string;
  ip: string;
  nsenter: string;
  unshare: string;
  setpriv: string;
  bwrap: string;
  mount: string;
  mkdir: string;
  chown: string;
  stat: string;
}

/** Resolves every tool of HostTools, or throws one Error naming each missing tool's Debian package. */
export function resolveHostTools(): HostTools {
  const missing: string[] = [];
  const need = (name: string, debianPackage: string): string => {
    const p = findTool(name);
    if (!p) missing.push(`${name} (${debianPackage})`);
    return p ?? '';
  };
  const tools: HostTools = {
    sh: need('sh', 'dash'),
    ip: need('ip', 'iproute2'),
    nsenter: need('nsenter', 'util-linux'),
    unshare: need('unshare', 'util-linux'),
    setpriv: need('setpriv', 'util-linux'),
    bwrap: need('bwrap', 'bubblewrap'),
    mount: need('mount', 'mount'),
    mkdir: need('mkdir', 'coreutils'),
    chown: need('chown', 'coreutils'),
    stat: need('stat', 'coreutils'),
  };
  if (missing.length > 0) throw new Error(`the process executor needs ${missing.join(', ')}, not found in ${SEARCH_PATH.join(', ')}`);
  return tools;
}

/**
 * Start time of a process in clock ticks since boot (field 22 of /proc/<pid>/stat). With the pid
 * it identifies a process across pid reuse, which is how a restarted supervisor re-adopts.
 */
export function processStartTime(pid: number): number | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may contain spaces and parentheses: parse after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); a zombie has exited already.
  if (fields[0] === 'Z') return undefined;
  const start = Number(fields[19]);
  return Number.isFinite(start) ? start : undefined;
}

export function isSameProcessAlive(pid: number, startTime: number): boolean {
  return processStartTime(pid) === startTime;
}

/** Shell single-quoting. */
export function shq(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
