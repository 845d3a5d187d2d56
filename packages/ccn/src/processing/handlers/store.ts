/**
 * STORE: the file must be held locally (uploaded with or before the message); processing pins
 * it and fills `size` and `content_type` in the content. Forgetting releases the pin, and a file
 * no message pins any more is deleted (after the transaction, see the processor).
 *
 * A `ref` shaped like an item hash makes the STORE a new version of the STORE it names (pyaleph
 * `handlers/content/store.py`): that message must be a processed STORE (200 otherwise, retried
 * while unknown) without a `ref` of its own (201), of the same owner, sent by the owner or a
 * delegate allowed to create it (2, permissions.ts). Consumers treat a STORE with a ref as an
 * update of the referenced message, so a ref naming someone else's program would let anyone stop
 * it: it is refused here. Any other `ref` is a free-form tag in the owner's own namespace.
 *
 * Order independence: a missing ref or file is waited for (and a rejection for it is evaluated
 * again when it arrives); a ref to a STORE forgotten by a FORGET that comes before the update in
 * the total order is refused, a later FORGET does not change the update's verdict
 * (processing/forgotten.ts).
 */
import { ALEPH_ERROR, type StoreContent } from '@aleph-nodes/protocol';
import { checkPayment, dropPayment, recordPayment } from '../../payments/admission.ts';
import { isUnsettled, OK, onChange, reject, retry, type Outcome } from '../outcome.ts';
import { forgottenBefore } from '../forgotten.ts';
import { checkActOn, positionOfMessage, storeRefTarget } from '../permissions.ts';
import type { HandlerContext, TypeHandler } from './context.ts';

async function checkRef(ctx: HandlerContext, ref: string): Promise<Outcome> {
  const hash = storeRefTarget(ref);
  if (hash === undefined) return OK;
  const target = await ctx.repos.messages.get(hash);
  if (!target || isUnsettled(target)) return retry(ALEPH_ERROR.STORE_REF_NOT_FOUND, `ref ${hash} is not a known STORE message`, hash);
  const forgotten = await forgottenBefore(ctx.repos, target, positionOfMessage(ctx.message, ctx.content));
  if ((target.status !== 'processed' && target.status !== 'removing' && target.status !== 'forgotten') || forgotten) {
    // A refused or forgotten target may change (evaluated again): so may this verdict.
    return reject(ALEPH_ERROR.STORE_REF_NOT_FOUND, `ref ${hash} is ${forgotten ? `forgotten by ${forgotten}` : target.status}, not a processed STORE message`, onChange(hash));
  }
  const permission = await checkActOn({ message: ctx.message, content: ctx.content, aggregates: ctx.repos.aggregates }, target, 'store-ref');
  if (permission.kind !== 'ok') return permission;
  if (target.type !== 'STORE') return reject(ALEPH_ERROR.STORE_REF_NOT_FOUND, `ref ${hash} is a ${target.type} message, not a STORE`);
  if (target.content_ref !== null) return reject(ALEPH_ERROR.STORE_UPDATE_OF_UPDATE, `ref ${hash} is itself an update (it has a ref)`);
  return OK;
}

export const storeHandler: TypeHandler = {
  async check(ctx) {
    const content = ctx.content as unknown as StoreContent;
    if (typeof content.ref === 'string') {
      const outcome = await checkRef(ctx, content.ref);
      if (outcome.kind !== 'ok') return outcome;
    }
    const file = await ctx.repos.files.get(content.item_hash);
    if (!file || !ctx.repos.fileStore.has(content.item_hash)) {
      return retry(ALEPH_ERROR.FILE_UNAVAILABLE, `file ${content.item_hash} is not available on this node`, content.item_hash);
    }
    // Node-filled fields (aleph-protocol.md §4 STORE): what the node found, never what the client claims.
    ctx.content.size = file.size;
    ctx.content.content_type = 'file';
    return checkPayment(ctx, 'STORE');
  },
  async apply(ctx) {
    const content = ctx.content as unknown as StoreContent;
    await ctx.repos.files.pin(content.item_hash, ctx.message.item_hash);
    await recordPayment(ctx, 'STORE');
  },
  async undo({ row, repos, released }) {
    await dropPayment({ row, repos });
    if (!row.content_item_hash) return;
    await repos.files.unpin(row.content_item_hash, row.item_hash);
    released.push(row.content_item_hash);
  },
};
