/**
 * Host-wide leases of small numbers, for identities that must not be shared while in use (the
 * unprivileged uid of a jailed image tool). A lease is a file created exclusively in a directory
 * on tmpfs, holding the owner's pid and start time, so a lease left by a crashed supervisor is
 * taken back as soon as its owner is seen gone (and a reboot clears them all).
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { isSameProcessAlive, processStartTime } from './tools.ts';

export interface IdLease {
  index: number;
  release(): void;
}

function ownerText(): string {
  return `${process.pid} ${processStartTime(process.pid) ?? 0}`;
}

/** True when the lease file names a process that no longer exists. */
function stale(path: string): boolean {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return false;
  }
  const [pid, start] = text.split(' ').map(Number);
  // A lease being written right now is empty for an instant: not stale.
  if (!pid || start === undefined || Number.isNaN(start)) return false;
  return !isSameProcessAlive(pid, start);
}

/** Takes the lowest free number in [0, count) under `dir`. */
export function takeIdLease(dir: string, count: number): IdLease {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const owner = ownerText();
  for (let index = 0; index < count; index++) {
    const path = join(dir, String(index));
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(path, 'wx', 0o600);
        writeSync(fd, owner);
        closeSync(fd);
        return {
          index,
          release: () => {
            try {
              if (readFileSync(path, 'utf8') === owner) rmSync(path, { force: true });
            } catch {
              // already gone
            }
          },
        };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        if (attempt === 0 && stale(path)) rmSync(path, { force: true });
        else break;
      }
    }
  }
  throw new Error(`no free lease left in ${dir} (${count} in use)`);
}
