/**
 * FORGET (aleph-protocol.md §4.4, pyaleph `handlers/content/forget.py`): targets must exist (retry, then
 * 501); a FORGET cannot be forgotten (502); a STORE still used by a VM cannot be (503).
 * `aggregates` names keys of `content.address` whose elements are forgotten (a key without
 * elements is a missing target, 501). Every target, message or aggregate element, is checked on
 * its own: the sender must be its owner or a delegate the owner's `security` aggregate would let
 * create it (2, permissions.ts); the FORGET's own `content.address` grants nothing.
 *
 * Order independence (processing/order.ts, convergence.ts):
 * - a named hash that is unknown, pending or waiting is waited for (as pyaleph); when the
 *   retries run out the FORGET is rejected but evaluated again when that message arrives, and a
 *   message named by a processed FORGET is forgotten on arrival;
 * - a target already forgotten by another FORGET gets this one added to its `forgotten_by`
 *   (pyaleph `append_to_forgotten_by`), so the list is the same whatever order they came in;
 * - `aggregates` forgets the elements of the key that come before the FORGET in the total
 *   order (pyaleph: those present when it is processed); later elements start the key anew;
 * - 503: a STORE is in use when an executable that comes before the FORGET in the total order
 *   uses it and is not forgotten by a FORGET that also comes before (pyaleph: any processed
 *   executable at processing time).
 */
import { ALEPH_ERROR, type ForgetContent } from '@aleph-nodes/protocol';
import type { MessageRow } from '../../db/messages-repo.ts';
import type { Repos } from '../../stores.ts';
import { aggregateTarget, positionOf, precedes, type Position } from '../order.ts';
import { isUnsettled, OK, onChange, reject, retry, type Outcome } from '../outcome.ts';
import { forgottenBefore } from '../forgotten.ts';
import { checkActOn, positionOfMessage } from '../permissions.ts';
import type { HandlerContext, TypeHandler } from './context.ts';

/** Every target a FORGET content names, as recorded in `forget_targets`. */
export function namedTargets(content: ForgetContent): string[] {
  return [...content.hashes, ...content.aggregates.map((key) => aggregateTarget(content.address, key))];
}

/** Is `store` in use at `at` in the total order? The first user that makes it so, or a wait. */
async function storeUse(repos: Repos, store: string, at: Position): Promise<Outcome> {
  for (const user of await repos.state.usersOf(store)) {
    if (!precedes(positionOf(user), at)) continue;
    if (user.status === 'processed' || user.status === 'removing') {
      return reject(ALEPH_ERROR.FORGET_NOT_ALLOWED, `${store} is still used by ${user.item_hash}`, onChange(user.item_hash));
    }
    if (user.status !== 'forgotten') continue;
    if (!(await forgottenBefore(repos, user, at))) return reject(ALEPH_ERROR.FORGET_NOT_ALLOWED, `${store} is still used by ${user.item_hash}`, onChange(user.item_hash));
  }
  // An executable that comes before and is about to use the STORE (it waits for it) decides
  // first: without this, the FORGET and that executable would undo each other in turn.
  for (const user of await repos.state.waitingOn(store)) {
    if ((user.type === 'PROGRAM' || user.type === 'INSTANCE') && precedes(positionOf(user), at)) {
      return retry(ALEPH_ERROR.FORGET_NOT_ALLOWED, `${store} may be used by ${user.item_hash}, still pending`, user.item_hash);
    }
  }
  return OK;
}

export interface ForgetPlan {
  outcome: Outcome;
  /** Targets to forget, processed or already forgotten (this FORGET is added to their list). */
  rows: MessageRow[];
}

/** What a FORGET does, judged on the current state. */
export async function forgetPlan(ctx: HandlerContext): Promise<ForgetPlan> {
  const content = ctx.content as unknown as ForgetContent;
  const rows: MessageRow[] = [];
  const actor = { message: ctx.message, content: ctx.content, aggregates: ctx.repos.aggregates };
  const self = positionOfMessage(ctx.message, ctx.content);
  const fail = (outcome: Outcome): ForgetPlan => ({ rows: [], outcome });
  if (content.hashes.length === 0 && content.aggregates.length === 0) {
    return fail(reject(ALEPH_ERROR.FORGET_NO_TARGET, 'a FORGET needs at least one hash or aggregate key'));
  }
  for (const hash of content.hashes) {
    const target = await ctx.repos.messages.get(hash);
    if (!target || isUnsettled(target)) return fail(retry(ALEPH_ERROR.FORGET_TARGET_NOT_FOUND, `target ${hash} not found`, hash));
    if (target.type === 'FORGET') return fail(reject(ALEPH_ERROR.FORGET_FORGET, `${hash} is a FORGET and cannot be forgotten`));
    if (target.status === 'rejected' || target.status === 'removed') continue;
    const permission = await checkActOn(actor, target, 'forget');
    if (permission.kind !== 'ok') return fail(permission);
    if (target.type === 'STORE') {
      const use = await storeUse(ctx.repos, hash, self);
      if (use.kind !== 'ok') return fail(use);
    }
    if (!rows.some((r) => r.item_hash === hash)) rows.push(target);
  }
  for (const key of content.aggregates) {
    const elements = (await ctx.repos.state.aggregateElements(content.address, key)).filter((e) => precedes(positionOf(e), self));
    if (elements.length === 0) {
      const target = aggregateTarget(content.address, key);
      return fail(retry(ALEPH_ERROR.FORGET_TARGET_NOT_FOUND, `aggregate ${key} of ${content.address} not found`, target));
    }
    for (const element of elements) {
      if (rows.some((r) => r.item_hash === element.item_hash)) continue;
      const permission = await checkActOn(actor, element, 'forget');
      if (permission.kind !== 'ok') return fail(permission);
      rows.push(element);
    }
  }
  return { rows, outcome: OK };
}

/** Set by the processor: forgets one row (processed or already forgotten) with its type's undo. */
export type ForgetOne = (repos: HandlerContext['repos'], row: MessageRow, forgetHash: string) => Promise<void>;

export function forgetHandler(forgetOne: ForgetOne): TypeHandler {
  return {
    async check(ctx) {
      return (await forgetPlan(ctx)).outcome;
    },
    async apply(ctx) {
      for (const planned of (await forgetPlan(ctx)).rows) {
        // Forgetting one target may have sent another back to evaluation (a grant forgotten
        // before a delegate's message): that one is forgotten on arrival if it is processed again.
        const row = await ctx.repos.messages.get(planned.item_hash);
        if (row && (row.status === 'processed' || row.status === 'removing' || row.status === 'forgotten')) await forgetOne(ctx.repos, row, ctx.message.item_hash);
      }
    },
    undo() {
      // A processed FORGET evaluated again gives its targets back (convergence.ts).
      return Promise.resolve();
    },
  };
}
