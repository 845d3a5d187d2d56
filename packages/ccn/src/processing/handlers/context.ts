/** What a type handler sees of a message being processed. */
import type { AlephMessage } from '@aleph-nodes/protocol';
import type { CcnConfig } from '../../config.ts';
import type { MessageRow } from '../../db/messages-repo.ts';
import type { Repos } from '../../stores.ts';
import type { Outcome } from '../outcome.ts';

export interface HandlerContext {
  row: MessageRow;
  message: AlephMessage;
  /** Parsed content with defaults; handlers may fill node-derived fields (STORE size). */
  content: Record<string, unknown>;
  /** Repositories; bound to the processing transaction in `apply`. */
  repos: Repos;
  config: CcnConfig;
  /** Unix seconds. */
  now: number;
}

export interface ForgetContext {
  /** The message being forgotten, as it was before (status processed). */
  row: MessageRow;
  forgetHash: string;
  repos: Repos;
  config: CcnConfig;
  now: number;
}

export interface TypeHandler {
  /** Read-only checks of rules and dependencies. */
  check(ctx: HandlerContext): Promise<Outcome>;
  /** Side effects, run in the same transaction that marks the message processed. */
  apply(ctx: HandlerContext): Promise<void>;
  /** Undo of the side effects when the message is forgotten (also in a transaction). */
  forget(ctx: ForgetContext): Promise<void>;
}

export { sameAddress } from '../permissions.ts';
