/** Writing a setting back into an operator's JSON config file (a node hash after registering). */
import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { UsageError } from './fail.ts';

/** Sets `key` in the JSON object of `file`, keeping every other setting and the file's mode; atomic. */
export function setConfigValue(file: string, key: string, value: unknown): void {
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new UsageError(`cannot update config file ${file}: ${(err as Error).message}`);
  }
  if (config[key] === value) return;
  config[key] = value;
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(config, null, 2)}\n`, { mode: statSync(file).mode & 0o777 });
  renameSync(tmp, file);
}

/** `postgres://user:secret@host/db` → `postgres://user:***@host/db`, for printing settings. */
export function maskSecrets<T extends Record<string, unknown>>(config: T): T {
  const out: Record<string, unknown> = { ...config };
  for (const [k, v] of Object.entries(out)) {
    if (typeof v === 'string' && /^[a-z][a-z0-9+.-]*:\/\/[^/@\s]*:[^/@\s]*@/i.test(v)) out[k] = v.replace(/(:\/\/[^/:@\s]*:)[^/@\s]*@/, '$1***@');
  }
  return out as T;
}
