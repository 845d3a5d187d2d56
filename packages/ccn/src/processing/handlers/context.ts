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

export interface UndoContext {
  /** The message as it was while its effects applied (status processed). */
  row: MessageRow;
  repos: Repos;
  config: CcnConfig;
  now: number;
  /** Files whose last pin may just have gone (kept for the grace period when unpinned). */
  released: string[];
  /** Set when a FORGET forgets it: that FORGET's position in the total order. */
  forgetting?: { time: number; hash: string };
}

export interface CascadeContext {
  /** The message being forgotten (processed, or already forgotten by another FORGET). */
  row: MessageRow;
  forgetHash: string;
  repos: Repos;
}

export interface TypeHandler {
  /** Read-only checks of rules and dependencies. */
  check(ctx: HandlerContext): Promise<Outcome>;
  /** Side effects, run in the same transaction that marks the message processed. */
  apply(ctx: HandlerContext): Promise<void>;
  /**
   * Undoes the side effects of `apply` (also in a transaction), when the message is forgotten or
   * evaluated again. Runs after the message's status left `processed`.
   */
  undo(ctx: UndoContext): Promise<void>;
  /** What else a FORGET of this message forgets (a post's amends). */
  cascade?(ctx: CascadeContext): Promise<void>;
}

export { sameAddress } from '../permissions.ts';
