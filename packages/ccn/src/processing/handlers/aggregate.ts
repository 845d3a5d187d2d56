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
  async undo({ row, repos, forgetting }) {
    // A forgotten `security` element stays in effect for what came before its FORGET
    // (permissions.ts); anything else simply leaves the aggregate.
    if (forgetting && row.content_key === 'security') await repos.aggregates.retire(row.item_hash, forgetting);
    else await repos.aggregates.delete(row.item_hash);
  },
};
