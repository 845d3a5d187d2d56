/**
 * POST: amends must target an existing original post (aleph-protocol.md §4.4) of the owner they write as,
 * sent by that owner or by a delegate allowed to create the original (permissions.ts, as pyaleph's
 * `check_sender_authorization`). The post's current version is its amend with the greatest
 * (content time, item_hash): a late amend with an older time never wins, and equal times are
 * decided by the hash (pyaleph replaces `latest_amend` only when the amend's time is later than
 * the post's `last_updated`, so which of two equal-time amends wins depends on arrival).
 * An amend of a forgotten post is forgotten on arrival by the FORGETs that forgot the post: the
 * same end state as when it arrived before them. Oracle posts (balances, credits, flows) from
 * the configured oracles apply their effects (payments/oracle-posts.ts).
 */
import { ALEPH_ERROR, type PostContent } from '@aleph-nodes/protocol';
import { applyOraclePost, oracleTypeOf, readOraclePost, withdrawOraclePost } from '../../payments/oracle-posts.ts';
import type { Repos } from '../../stores.ts';
import { isUnsettled, OK, onChange, reject, retry } from '../outcome.ts';
import { checkActOn } from '../permissions.ts';
import type { TypeHandler } from './context.ts';

export function postRefHash(ref: PostContent['ref']): string | undefined {
  if (ref === undefined) return undefined;
  return typeof ref === 'string' ? ref : ref.item_hash;
}

/** Re-derives which amend is the latest of an original post. */
export async function refreshPostLatest(repos: Repos, originalHash: string): Promise<void> {
  const latest = (await repos.messages.amendsOf(originalHash))[0];
  await repos.messages.setPostLatest(originalHash, latest?.item_hash ?? null, latest?.time ?? null);
}

export const postHandler: TypeHandler = {
  async check(ctx) {
    const content = ctx.content as PostContent;
    const oracle = oracleTypeOf(content.type, ctx.message.sender, ctx.config);
    if (oracle) {
      // An oracle's post that does not fit its schema is refused with the reason (nothing of it applies).
      const read = readOraclePost(oracle, content.content);
      return read.ok ? OK : reject(ALEPH_ERROR.INVALID_FORMAT, read.reason);
    }
    if (content.type !== 'amend') return OK;
    const targetHash = postRefHash(content.ref);
    if (!targetHash) return reject(ALEPH_ERROR.AMEND_WITHOUT_TARGET, 'an amend needs a ref');
    const target = await ctx.repos.messages.get(targetHash);
    if (!target || isUnsettled(target)) return retry(ALEPH_ERROR.AMEND_TARGET_NOT_FOUND, `amend target ${targetHash} not found`, targetHash);
    const usable = target.status === 'processed' || target.status === 'forgotten';
    if (target.type !== 'POST' || !usable) {
      return reject(ALEPH_ERROR.AMEND_TARGET_NOT_FOUND, `amend target ${targetHash} is not a processed POST`, target.type === 'POST' ? onChange(targetHash) : undefined);
    }
    if (target.content_type === 'amend') return reject(ALEPH_ERROR.AMEND_OF_AMEND, 'cannot amend an amend');
    const permission = await checkActOn({ message: ctx.message, content: ctx.content, aggregates: ctx.repos.aggregates }, target, 'amend');
    if (permission.kind !== 'ok' || target.status === 'processed') return permission;
    return { kind: 'ok', forgottenBy: target.forgotten_by ? (JSON.parse(target.forgotten_by) as string[]) : [] };
  },
  async apply(ctx) {
    const content = ctx.content as PostContent;
    if (content.type === 'amend') {
      const target = postRefHash(content.ref);
      if (target) await refreshPostLatest(ctx.repos, target);
      return;
    }
    const oracle = oracleTypeOf(content.type, ctx.message.sender, ctx.config);
    if (oracle) {
      const read = readOraclePost(oracle, content.content);
      if (read.ok) await applyOraclePost(ctx.repos, ctx.message.item_hash, content.time, read.post);
    }
  },
  async undo({ row, repos }) {
    if (row.content_type === 'amend') {
      if (row.content_ref) await refreshPostLatest(repos, row.content_ref);
      return;
    }
    await withdrawOraclePost(repos, row.item_hash, row.content_type);
    await repos.messages.setPostLatest(row.item_hash, null, null);
  },
  async cascade({ row, repos, forgetHash }) {
    // Forgetting a post forgets its amends too, also when the post was already forgotten by
    // another FORGET: an amend's forgotten_by is the post's, whatever the order.
    if (row.content_type === 'amend') return;
    for (const amend of await repos.state.amendsOf(row.item_hash)) await repos.messages.markForgotten(amend.item_hash, forgetHash);
    await repos.messages.setPostLatest(row.item_hash, null, null);
  },
};
