/**
 * How a command reports an error: one line on stderr naming what and where (a URL, a path, the
 * cause), and the exit code that goes with it: 2 for what the operator must fix in the command
 * line or configuration (nothing was done), 1 for a failure at run time.
 */
import { ConfigError, KeyFileError } from '@aleph-nodes/service';
import { EXIT } from './exit-codes.ts';
import { causeOf } from './http.ts';

/** A usage or configuration error detected by a command (exit 2). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export function exitCodeOf(err: unknown): number {
  return err instanceof ConfigError || err instanceof KeyFileError || err instanceof UsageError ? EXIT.USAGE : EXIT.FAILURE;
}

/** One human line: the message, with the system error under it when it says more. */
export function humanMessage(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const sys = err as NodeJS.ErrnoException & { address?: string; port?: number };
  if (sys.code === 'EADDRINUSE' || sys.code === 'EADDRNOTAVAIL' || sys.code === 'EACCES') {
    if (sys.syscall === 'listen' || sys.address !== undefined) return `cannot listen on ${sys.address ?? '?'}:${sys.port ?? '?'}: ${sys.code === 'EADDRINUSE' ? 'the address is already in use' : sys.message}`;
  }
  const cause = err.cause instanceof Error ? causeOf(err) : '';
  const line = cause && !err.message.includes(cause) ? `${err.message}: ${cause}` : err.message;
  return line.replace(/\s*\n\s*/g, '; ');
}

/** Writes the line and returns the exit code. */
export function reportError(command: string, err: unknown): number {
  process.stderr.write(`${command}: ${humanMessage(err)}\n`);
  return exitCodeOf(err);
}
