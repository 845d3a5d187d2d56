/**
 * FORGET (reference §4.4, pyaleph `handlers/content/forget.py`): targets must exist (retry, then
 * 501); a FORGET cannot be forgotten (502); a STORE still used by a VM cannot be (503).
 * `aggregates` names keys of `content.address` whose elements are all forgotten (a key without
 * elements is a missing target, 501). Every target, message or aggregate element, is checked on
 * its own: the sender must be its owner or a delegate the owner's `security` aggregate would let
 * create it (2, permissions.ts); the FORGET's own `content.address` grants nothing.
 */
import { ALEPH_ERROR, type ForgetContent } from '@aleph-nodes/protocol';
import type { MessageRow } from '../../db/messages-repo.ts';
import { OK, reject, retry, type Outcome } from '../outcome.ts';
import { checkActOn } from '../permissions.ts';
import type { HandlerContext, TypeHandler } from './context.ts';

const SKIPPED_STATUSES = new Set(['forgotten', 'rejected', 'removed']);

/** The rows a FORGET will actually forget (targets that are already gone are skipped). */
export async function forgetTargets(ctx: HandlerContext): Promise<{ rows: MessageRow[]; outcome: Outcome }> {
  const content = ctx.content as unknown as ForgetContent;
  const rows: MessageRow[] = [];
  const actor = { message: ctx.message, content: ctx.content, aggregates: ctx.repos.aggregates };
  if (content.hashes.length === 0 && content.aggregates.length === 0) {
    return { rows, outcome: reject(ALEPH_ERROR.FORGET_NO_TARGET, 'a FORGET needs at least one hash or aggregate key') };
  }
  for (const hash of content.hashes) {
    const target = await ctx.repos.messages.get(hash);
    if (!target || target.status === 'pending') return { rows, outcome: retry(ALEPH_ERROR.FORGET_TARGET_NOT_FOUND, `target ${hash} not found`) };
    if (target.type === 'FORGET') return { rows, outcome: reject(ALEPH_ERROR.FORGET_FORGET, `${hash} is a FORGET and cannot be forgotten`) };
    if (SKIPPED_STATUSES.has(target.status)) continue;
    const permission = await checkActOn(actor, target, 'forget');
    if (permission.kind !== 'ok') return { rows, outcome: permission };
    if (target.type === 'STORE') {
      const users = await ctx.repos.messages.executablesUsing(hash);
      if (users.length > 0) {
        return { rows, outcome: reject(ALEPH_ERROR.FORGET_NOT_ALLOWED, `${hash} is still used by ${users.map((u) => u.item_hash).join(', ')}`) };
      }
    }
    rows.push(target);
  }
  for (const key of content.aggregates) {
    const elements = await ctx.repos.aggregates.elementHashes(content.address, key);
    if (elements.length === 0) return { rows, outcome: retry(ALEPH_ERROR.FORGET_TARGET_NOT_FOUND, `aggregate ${key} of ${content.address} not found`) };
    for (const elementHash of elements) {
      const element = await ctx.repos.messages.get(elementHash);
      if (!element || element.status !== 'processed' || rows.some((r) => r.item_hash === elementHash)) continue;
      const permission = await checkActOn(actor, element, 'forget');
      if (permission.kind !== 'ok') return { rows, outcome: permission };
      rows.push(element);
    }
  }
  return { rows, outcome: OK };
}

/** Set by the processor: forgets one row with its type's undo. */
export type ForgetOne = (repos: HandlerContext['repos'], row: MessageRow, forgetHash: string) => Promise<void>;

export function forgetHandler(forgetOne: ForgetOne): TypeHandler {
  return {
    async check(ctx) {
      return (await forgetTargets(ctx)).outcome;
    },
    async apply(ctx) {
      for (const row of (await forgetTargets(ctx)).rows) await forgetOne(ctx.repos, row, ctx.message.item_hash);
    },
    forget() {
      // Unreachable: a FORGET cannot be forgotten (502).
      return Promise.resolve();
    },
  };
}
