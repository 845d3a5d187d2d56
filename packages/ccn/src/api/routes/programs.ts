/**
 * pyaleph `GET /api/v0/programs/on/message` (`web/controllers/programs.py`): the processed
 * programs that subscribe to messages (`on.message`), with their subscriptions only.
 */
import type { FastifyInstance } from 'fastify';
import type { Stores } from '../../stores.ts';
import { sortOrderParam, type RawQuery } from '../query.ts';

/** Programs read per request (pyaleph lists them all; a node holds few message-triggered ones). */
const MAX_PROGRAMS = 10_000;

/** What the program routes read: the processed PROGRAM messages. */
export interface ProgramsDeps {
  stores: Pick<Stores, 'db'>;
}

export async function programsRoutes(app: FastifyInstance, deps: ProgramsDeps): Promise<void> {
  app.get('/api/v0/programs/on/message', async (request) => {
    const dir = sortOrderParam(request.query as RawQuery) === 1 ? 'asc' : 'desc';
    const rows = await deps.stores.db
      .selectFrom('messages')
      .select(['item_hash', 'content'])
      .where('type', '=', 'PROGRAM')
      .where('status', '=', 'processed')
      // A cheap pre-filter; the parsed content decides.
      .where('content', 'like', '%"message"%')
      .orderBy('time', dir)
      .orderBy('item_hash', dir)
      .limit(MAX_PROGRAMS)
      .execute();
    const out: { item_hash: string; content: { on: { message: unknown[] } } }[] = [];
    for (const row of rows) {
      if (row.content === null) continue;
      const on = (JSON.parse(row.content) as { on?: { message?: unknown } }).on;
      if (Array.isArray(on?.message) && on.message.length > 0) out.push({ item_hash: row.item_hash, content: { on: { message: on.message } } });
    }
    return out;
  });
}
