/** Balances reported by whitelisted indexers (reference §7.8); unknown addresses are zero. */
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.ts';
import { MAX_PAGE, intParam, listParam, numberParam, pageSizeParam, type RawQuery } from '../query.ts';

export function balancesRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get('/api/v0/addresses/:address/balance', async (request) => {
    const { address } = request.params as { address: string };
    const chain = listParam(request.query as RawQuery, 'chain');
    const { byChain } = await ctx.stores.balances.of(address);
    const details = chain && chain.length > 0 ? Object.fromEntries(Object.entries(byChain).filter(([c]) => chain.includes(c))) : byChain;
    const balance = Object.values(details).reduce((a, b) => a + b, 0);
    // Credits and hold-tier locking are not tracked by this node yet: reported as zero.
    return { address, balance, details, locked_amount: 0, credit_balance: 0 };
  });

  app.get('/api/v0/balances', async (request) => {
    const query = request.query as RawQuery;
    const perPage = pageSizeParam(query, 100, ctx.config.maxPagination);
    const page = intParam(query, 'page', 1, 1, MAX_PAGE);
    const { rows, total } = await ctx.stores.balances.list({ chains: listParam(query, 'chains') ?? [], minBalance: numberParam(query, 'minBalance') ?? 0, perPage, page });
    return { balances: rows, pagination_page: page, pagination_total: total, pagination_per_page: perPage, pagination_item: 'balances' };
  });
}
