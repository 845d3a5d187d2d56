/**
 * What a processing attempt concluded. Retryable failures wait for a dependency; others are final,
 * except that a rejection may name what it was judged on (`waitingFor`): when that settles or
 * changes, the message is evaluated again, so that a late message changes the verdict the same
 * way on every node (order independence, see convergence.ts).
 */
import type { AlephErrorCode } from '@aleph-nodes/protocol';

export type Outcome =
  /** `forgottenBy`: valid, but forgotten on arrival by these FORGETs (an amend of a forgotten post). */
  | { kind: 'ok'; forgottenBy?: string[] }
  /**
   * `waitingFor`: the missing dependency (message hash, file hash, `aggregate:…`, `security:…`).
   * `retract`: processed messages whose verdict this message shows to be wrong (a FORGET that
   * came after an executable using the STORE it forgot): they are evaluated again.
   */
  | { kind: 'retry'; code: AlephErrorCode; details: string; waitingFor?: string; retract?: string[] }
  | { kind: 'reject'; code: AlephErrorCode; details: string; waitingFor?: string };

export const OK: Outcome = { kind: 'ok' };

export function retry(code: AlephErrorCode, details: string, waitingFor?: string, retract?: string[]): Outcome {
  return { kind: 'retry', code, details, ...(waitingFor !== undefined ? { waitingFor } : {}), ...(retract && retract.length > 0 ? { retract } : {}) };
}

export function reject(code: AlephErrorCode, details: string, waitingFor?: string): Outcome {
  return { kind: 'reject', code, details, ...(waitingFor !== undefined ? { waitingFor } : {}) };
}

/**
 * The key of a refusal judged on another message's state: the refused message is evaluated
 * again when that message changes (processed, forgotten, evaluated again), but it does not wait
 * for it (it is not missing).
 */
export function onChange(hash: string): string {
  return `changed:${hash}`;
}

/**
 * Is this stored message still undecided for the messages that depend on it? Pending, or
 * rejected while a dependency is missing (it may yet be processed): a dependant waits too. A
 * message refused on the state of others (`changed:`, `security:`) is settled: dependants are
 * refused too, and evaluated again if it changes. (A FORGET waiting for a delegate's refused
 * message could undo its own grant and wait for ever: it skips it, and forgets it on arrival if
 * it is processed later.)
 */
export function isUnsettled(row: { status: string; waiting_for: string | null }): boolean {
  if (row.status === 'pending') return true;
  if (row.status !== 'rejected' || row.waiting_for === null) return false;
  return !row.waiting_for.startsWith('changed:') && !row.waiting_for.startsWith('security:');
}
