/**
 * POST: amends must target an existing original post (reference §4.4) of the owner they write as,
 * sent by that owner or by a delegate allowed to create the original (permissions.ts, as pyaleph's
 * `check_sender_authorization`). The post's current version is its amend with the greatest
 * (content time, item_hash): a late amend with an older time never wins, and equal times are
 * decided by the hash (pyaleph replaces `latest_amend` only when the amend's time is later than
 * the post's `last_updated`, so which of two equal-time amends wins depends on arrival).
 * An amend of a forgotten post is forgotten on arrival by the FORGETs that forgot the post: the
 * same end state as when it arrived before them. Whitelisted indexers' `balances-update` posts
 * set balances (db/balances-repo.ts).
 */
import { ALEPH_ERROR, type PostContent } from '@aleph-nodes/protocol';
import type { Repos } from '../../stores.ts';
import { isUnsettled, OK, onChange, reject, retry } from '../outcome.ts';
import { checkActOn } from '../permissions.ts';
import { sameAddress, type TypeHandler } from './context.ts';

export function postRefHash(ref: PostContent['ref']): string | undefined {
  if (ref === undefined) return undefined;
  return typeof ref === 'string' ? ref : ref.item_hash;
}

/** Re-derives which amend is the latest of an original post. */
export async function refreshPostLatest(repos: Repos, originalHash: string): Promise<void> {
  const latest = (await repos.messages.amendsOf(originalHash))[0];
  await repos.messages.setPostLatest(originalHash, latest?.item_hash ?? null, latest?.time ?? null);
}

interface BalancesUpdate {
  chain?: unknown;
  main_height?: unknown;
  dapp?: unknown;
  balances?: unknown;
}

export const postHandler: TypeHandler = {
  async check(ctx) {
    const content = ctx.content as PostContent;
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
    if (content.type === 'balances-update' && ctx.config.balanceIndexers.some((a) => sameAddress(a, ctx.message.sender))) {
      const update = (content.content ?? {}) as BalancesUpdate;
      if (typeof update.chain !== 'string' || typeof update.balances !== 'object' || update.balances === null) return;
      const balances: Record<string, number> = {};
      for (const [addr, amount] of Object.entries(update.balances as Record<string, unknown>)) {
        const n = typeof amount === 'number' ? amount : Number(amount);
        if (Number.isFinite(n)) balances[addr] = n;
      }
      const height = typeof update.main_height === 'number' && Number.isFinite(update.main_height) ? Math.floor(update.main_height) : 0;
      const dapp = typeof update.dapp === 'string' ? update.dapp : '';
      await ctx.repos.balances.apply(ctx.message.item_hash, content.time, update.chain, dapp, height, balances);
    }
  },
  async undo({ row, repos }) {
    if (row.content_type === 'amend') {
      if (row.content_ref) await refreshPostLatest(repos, row.content_ref);
      return;
    }
    if (row.content_type === 'balances-update') await repos.balances.withdraw(row.item_hash);
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
