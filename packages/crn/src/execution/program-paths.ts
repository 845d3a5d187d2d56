/**
 * The paths a PROGRAM or INSTANCE message asks for, checked before anything is downloaded or
 * written: the entrypoint (an ASGI `module:app` or a relative path, by the program's
 * interface), each volume's mount point (defaults included) and each persistent volume's
 * directory name. One validator for all of them (`@aleph-nodes/protocol` paths); a refusal is
 * the CRN's `UNSAFE_PATH` (400) with the validator's reason.
 *
 * Written for hostile input: `content` may be anything (it is fuzzed with arbitrary values),
 * and nothing but an HttpError comes out.
 */
import { checkEntrypoint, checkMountPoint, volumeDirName } from '@aleph-nodes/protocol';
import { CRN_ERRORS } from '../errors.ts';

export interface CheckedVolume {
  /** Where the volume appears inside the workload. */
  mount: string;
  /** Persistent volumes: the directory name on the host (one safe segment). */
  dirName?: string;
}

type Obj = Record<string, unknown>;

function isObject(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function refuse(reason: string): never {
  throw CRN_ERRORS.error('UNSAFE_PATH', reason);
}

/** True when the program is ASGI: explicit `code.interface` wins, otherwise a `:` in the entrypoint. */
export function isAsgi(code: Obj): boolean {
  if (code.interface === 'asgi') return true;
  if (code.interface !== undefined) return false;
  return typeof code.entrypoint === 'string' && code.entrypoint.includes(':');
}

/** The program's entrypoint, checked as an ASGI reference or a relative file path. */
export function checkProgramEntrypoint(code: unknown): string {
  if (!isObject(code)) refuse('the program has no code section');
  const check = checkEntrypoint(code.entrypoint, isAsgi(code));
  if (!check.ok) refuse(check.reason);
  return check.path;
}

/** The mount point and host directory name of every volume, in order; duplicates refused. */
export function checkVolumes(volumes: unknown, reservedMounts: readonly string[] = []): CheckedVolume[] {
  if (volumes === undefined) return [];
  if (!Array.isArray(volumes)) refuse('volumes must be a list');
  const seen = new Set<string>(reservedMounts);
  const out: CheckedVolume[] = [];
  for (const [i, v] of volumes.entries()) {
    if (!isObject(v)) refuse(`volume ${i} is not an object`);
    const given = v.mount === undefined || v.mount === '' ? undefined : v.mount;
    let fallback: string;
    let dirName: string | undefined;
    if ('ref' in v) fallback = `/mnt/volume${i}`;
    else if ('ephemeral' in v) fallback = `/mnt/ephemeral${i}`;
    else {
      // The reference's rules (crn-api.md §6.4): empty name → unamed_volume_<i>, [A-Za-z0-9_-] kept.
      dirName = volumeDirName(v.name, i);
      fallback = `/mnt/${dirName}`;
    }
    const check = checkMountPoint(given ?? fallback, `volume ${i} mount point`);
    if (!check.ok) refuse(check.reason);
    if (seen.has(check.path)) refuse(`volume ${i} mount point ${JSON.stringify(check.path)} is used twice`);
    seen.add(check.path);
    out.push(dirName === undefined ? { mount: check.path } : { mount: check.path, dirName });
  }
  // Two persistent volumes with names that clean up to the same directory would share it.
  const names = out.map((v) => v.dirName).filter((n): n is string => n !== undefined);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) refuse(`two persistent volumes would share the directory ${JSON.stringify(dup)}`);
  return out;
}

/** Every path of a PROGRAM's content: entrypoint, volumes, and `/data` when it has data. */
export function checkProgramPaths(content: unknown): { entrypoint: string; volumes: CheckedVolume[] } {
  if (!isObject(content)) refuse('the message content is not an object');
  const entrypoint = checkProgramEntrypoint(content.code);
  const volumes = checkVolumes(content.volumes, content.data === undefined ? [] : ['/data']);
  return { entrypoint, volumes };
}
