/** AGGREGATE: each message is one element of (owner, key); the value is merged on read. */
import { aggregateKeyName, type AggregateContent } from '@aleph-nodes/protocol';
import { OK } from '../outcome.ts';
import type { TypeHandler } from './context.ts';

export const aggregateHandler: TypeHandler = {
  check() {
    return Promise.resolve(OK);
  },
  async apply(ctx) {
    const content = ctx.content as AggregateContent;
    await ctx.repos.aggregates.insert(ctx.message.item_hash, content.address, aggregateKeyName(content.key), content.time, content.content);
  },
  async undo({ row, repos }) {
    await repos.aggregates.delete(row.item_hash);
  },
};
