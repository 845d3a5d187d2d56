/**
 * Paths that come from messages: program entrypoints, volume mount points and volume names.
 * One validator for every consumer (the CRN preparing files, each executor, the guest config),
 * so that no backend has its own idea of what is safe. Pure; the filesystem side (re-checking
 * the resolved path where it is written) is `@aleph-nodes/service`'s safe-path.
 *
 * The rules are deliberately narrower than POSIX: a relative, normalized path of segments made
 * of a safe character set. Every real Aleph program seen (`main.py`, `src/index.mjs`, `run.sh`,
 * `main:app`) fits; what does not fit is refused with a reason instead of being "sanitized".
 */

/** One path segment: no separators, no control or shell-special characters, no leading `.` (so never `.`/`..`) or `-` (never an option). */
const SEGMENT_RE = /^[A-Za-z0-9_@+,][A-Za-z0-9._@+=,~-]*$/;
const MAX_SEGMENT = 255;
const MAX_PATH = 1024;

/** Where volumes may be mounted inside a workload (strictly below one of these). */
export const ALLOWED_MOUNT_PREFIXES = ['/opt', '/mnt', '/media', '/srv', '/home', '/root', '/var/lib', '/var/cache', '/var/www'] as const;
/** Mount points allowed as they are (and below). */
export const ALLOWED_MOUNT_ROOTS = ['/data'] as const;
/** Reserved inside every workload: the code is mounted there. */
export const RESERVED_MOUNTS = ['/opt/code'] as const;

export type PathCheck = { ok: true; path: string } | { ok: false; reason: string };

function quote(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
}

function checkSegments(segments: readonly string[], what: string, value: string): PathCheck | undefined {
  for (const segment of segments) {
    if (segment === '') return { ok: false, reason: `${what} ${quote(value)} has an empty segment` };
    if (segment === '.' || segment === '..') return { ok: false, reason: `${what} ${quote(value)} must not contain '.' or '..'` };
    if (segment.length > MAX_SEGMENT) return { ok: false, reason: `${what} ${quote(value)} has a segment over ${MAX_SEGMENT} characters` };
    if (!SEGMENT_RE.test(segment)) return { ok: false, reason: `${what} ${quote(value)} has a character outside [A-Za-z0-9._@+=,~-]` };
  }
  return undefined;
}

/** A relative, normalized path inside a directory (an executable entrypoint, a file of the code). */
export function checkRelativePath(value: unknown, what = 'path'): PathCheck {
  if (typeof value !== 'string' || value.length === 0) return { ok: false, reason: `${what} must be a non-empty string` };
  if (value.length > MAX_PATH) return { ok: false, reason: `${what} is longer than ${MAX_PATH} characters` };
  if (value.startsWith('/')) return { ok: false, reason: `${what} ${quote(value)} must be relative` };
  return checkSegments(value.split('/'), what, value) ?? { ok: true, path: value };
}

/**
 * A file inside a tree the tenant ships (a zip of code or data): relative and normalized like
 * `checkRelativePath`, but any printable character is allowed in a segment, since dot files
 * (`.env`, `node_modules/.bin`), spaces and non-ASCII names are ordinary in code trees and are
 * only ever file names, never arguments or mount points. Still refused: absolute paths, empty,
 * `.` and `..` segments, backslashes (a Windows separator in some archivers) and control
 * characters.
 */
export function checkTreePath(value: unknown, what = 'path'): PathCheck {
  if (typeof value !== 'string' || value.length === 0) return { ok: false, reason: `${what} must be a non-empty string` };
  if (value.length > 4096) return { ok: false, reason: `${what} is longer than 4096 characters` };
  if (value.startsWith('/')) return { ok: false, reason: `${what} ${quote(value)} must be relative` };
  if (/[\\\x00-\x1f\x7f]/.test(value)) return { ok: false, reason: `${what} ${quote(value)} has a backslash or a control character` };
  for (const segment of value.split('/')) {
    if (segment === '') return { ok: false, reason: `${what} ${quote(value)} has an empty segment` };
    if (segment === '.' || segment === '..') return { ok: false, reason: `${what} ${quote(value)} must not contain '.' or '..'` };
    if (new TextEncoder().encode(segment).length > MAX_SEGMENT) return { ok: false, reason: `${what} ${quote(value)} has a segment over ${MAX_SEGMENT} bytes` };
  }
  return { ok: true, path: value };
}

/** An absolute, normalized mount point below an allowed prefix, outside the reserved ones. */
export function checkMountPoint(value: unknown, what = 'mount point'): PathCheck {
  if (typeof value !== 'string' || value.length === 0) return { ok: false, reason: `${what} must be a non-empty string` };
  if (value.length > MAX_PATH) return { ok: false, reason: `${what} is longer than ${MAX_PATH} characters` };
  if (!value.startsWith('/')) return { ok: false, reason: `${what} ${quote(value)} must be absolute` };
  const bad = checkSegments(value.slice(1).split('/'), what, value);
  if (bad) return bad;
  const under = (prefix: string): boolean => value === prefix || value.startsWith(`${prefix}/`);
  if (RESERVED_MOUNTS.some(under)) return { ok: false, reason: `${what} ${quote(value)} is reserved for the program's code` };
  const allowed = ALLOWED_MOUNT_ROOTS.some(under) || ALLOWED_MOUNT_PREFIXES.some((p) => value.startsWith(`${p}/`));
  if (!allowed) {
    return { ok: false, reason: `${what} ${quote(value)} must be below ${[...ALLOWED_MOUNT_PREFIXES, ...ALLOWED_MOUNT_ROOTS].join(', ')}` };
  }
  return { ok: true, path: value };
}

/** Python module path and attribute of an ASGI entrypoint (`main:app`, `pkg.server:application`). */
const ASGI_RE = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

/** A program entrypoint: an ASGI `module:app` reference, or a relative path for executables. */
export function checkEntrypoint(value: unknown, asgi: boolean): PathCheck {
  if (asgi) {
    if (typeof value !== 'string') return { ok: false, reason: 'entrypoint must be a string' };
    if (value.length <= 256 && ASGI_RE.test(value)) return { ok: true, path: value };
    return { ok: false, reason: `entrypoint ${quote(value)} is not a Python module:attribute reference` };
  }
  return checkRelativePath(value, 'entrypoint');
}

/**
 * The on-disk name of a persistent volume (crn-api.md §6.4: empty → `unamed_volume_<i>`, the
 * reference's spelling; other characters become `_`). Always a single safe segment.
 */
export function volumeDirName(name: unknown, index: number): string {
  const raw = typeof name === 'string' && name.length > 0 ? name : `unamed_volume_${index}`;
  const cleaned = raw.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64);
  // All underscores and dashes is still a valid segment; never `.` or `..` by construction.
  return cleaned.length > 0 ? cleaned : `unamed_volume_${index}`;
}

/** Throws `Error(reason)`; for callers that turn it into their own error type. */
export function assertPath(check: PathCheck): string {
  if (!check.ok) throw new Error(check.reason);
  return check.path;
}
