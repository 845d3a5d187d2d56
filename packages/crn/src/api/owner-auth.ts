/**
 * VM-owner authentication for `/control/machine/{ref}/*` (crn-api.md §2.2): the signed
 * ephemeral key and the signed operation, then the signer must own the execution's message,
 * then the operation is spent: each signed operation acts once (the reference accepts it again
 * and again within its ±120 s window), over HTTP and over the log websocket alike.
 */
import { isProtocolError, verifyOwnerOperation, type VerifiedOwnerOperation } from '@aleph-nodes/protocol';
import type { AuthState } from '../db/auth-state.ts';
import { CRN_ERRORS } from '../errors.ts';
import type { Execution } from '../execution/execution.ts';
import type { ApiContext } from './context.ts';
import { mayActFor } from '../ccn/authorizations.ts';

const MALFORMED = new Set(['INVALID_AUTH_HEADER', 'BAD_HEX']);

export interface OwnerAuthInput {
  signedPubKey: unknown;
  signedOperation: unknown;
  method: string;
  path: string;
}

/** Verifies the signatures; 400 when malformed, 401 when invalid. */
export function verifyOwnerSignature(ctx: ApiContext, input: OwnerAuthInput): VerifiedOwnerOperation {
  if (input.signedPubKey === undefined || input.signedOperation === undefined) {
    throw CRN_ERRORS.error('AUTH_INVALID', 'X-SignedPubKey and X-SignedOperation are required');
  }
  try {
    return verifyOwnerOperation({ ...input, domain: ctx.config.domain });
  } catch (err) {
    if (isProtocolError(err)) {
      if (MALFORMED.has(err.code)) throw CRN_ERRORS.error('AUTH_MALFORMED', err.message);
      throw CRN_ERRORS.error('AUTH_INVALID', err.message);
    }
    throw err;
  }
}

/** The execution of `ref` known to this node (live or recorded); 404 otherwise. */
export function knownExecutionOwner(ctx: ApiContext, ref: string): { owner: string; exec: Execution | undefined } {
  const exec = ctx.supervisor.find(ref);
  if (exec) return { owner: exec.owner, exec };
  const rec = ctx.records.get(ref);
  if (rec) return { owner: rec.owner, exec: undefined };
  throw CRN_ERRORS.error('UNKNOWN_EXECUTION');
}

/**
 * The signer may act when it is the owner, or when the owner's `security` aggregate authorizes
 * it with no type restriction or for INSTANCE (crn-api.md §2.2 item 6; cached by the CCN client per call).
 */
export async function assertOwner(ctx: ApiContext, signer: string, owner: string): Promise<void> {
  // One decision for owner operations and heard messages (ccn/authorizations.ts).
  if (!(await mayActFor(ctx.ccn, owner, { sender: signer, type: 'INSTANCE' }))) throw CRN_ERRORS.error('UNAUTHORIZED_SENDER');
}

/**
 * The whole owner check of one request on `ref`: signatures, the execution, ownership, then the
 * operation is marked used (401 when it already was). It is recorded only once every other
 * check passed, so a stranger's signatures never fill the used-operation table.
 */
export async function authorizeOwnerOperation(ctx: ApiContext, auth: AuthState, input: OwnerAuthInput, ref: string): Promise<string> {
  const verified = verifyOwnerSignature(ctx, input);
  const { owner } = knownExecutionOwner(ctx, ref);
  await assertOwner(ctx, verified.address, owner);
  const use = auth.useOwnerOperation(verified.operation.key, verified.operation.expiresAtMs);
  if (use === 'replayed') throw CRN_ERRORS.error('AUTH_INVALID', 'this signed operation was already used');
  if (use === 'full') throw CRN_ERRORS.error('TOO_MANY_OPERATIONS');
  return verified.address;
}
