/**
 * Balances (aleph-protocol.md §7.8): token balances reported by whitelisted indexers, the
 * amount locked by the owner's held messages (`locked_amount`: the hold costs of its processed
 * and removing messages, as recorded at processing) and its credits (`credit_balance`: the lots
 * still valid now after every debit, payments/credits.ts). Unknown addresses are zeros, as pyaleph.
 */
import type { FastifyInstance } from 'fastify';
import { CCN_ERRORS } from '../../errors.ts';
import type { Stores } from '../../stores.ts';
import type { CcnConfig } from '../../config.ts';
import { MAX_PAGE, intParam, listParam, numberParam, pageSizeParam, type RawQuery } from '../query.ts';

/** An account address of any chain we serve: EVM hex, or base58 / alphanumeric up to 100 characters. */
export function addressParam(raw: unknown): string {
  if (typeof raw !== 'string' || !/^(0x[0-9a-fA-F]{40}|[A-Za-z0-9]{20,100})$/.test(raw)) {
    throw CCN_ERRORS.error('INVALID_PARAMETER', `${String(raw).slice(0, 100)} is not an account address`);
  }
  return raw;
}

/** What the balance routes read: balances, locked amounts and credits, at the node's clock. */
export interface BalancesDeps {
  stores: Pick<Stores, 'balances' | 'payments'>;
  config: Pick<CcnConfig, 'maxPagination'>;
  clock(): number;
}

export async function balancesRoutes(app: FastifyInstance, deps: BalancesDeps): Promise<void> {
  app.get('/api/v0/addresses/:address/balance', async (request) => {
    const address = addressParam((request.params as { address: string }).address);
    const chain = listParam(request.query as RawQuery, 'chain');
    const { byChain } = await deps.stores.balances.of(address);
    const details = chain && chain.length > 0 ? Object.fromEntries(Object.entries(byChain).filter(([c]) => chain.includes(c))) : byChain;
    const balance = Object.values(details).reduce((a, b) => a + b, 0);
    const locked = await deps.stores.payments.lockedAmount(address);
    const credits = await deps.stores.payments.creditBalance(address, deps.clock());
    return { address, balance, details, locked_amount: locked.toNumber(), credit_balance: credits };
  });

  app.get('/api/v0/balances', async (request) => {
    const query = request.query as RawQuery;
    const perPage = pageSizeParam(query, 100, deps.config.maxPagination);
    const page = intParam(query, 'page', 1, 1, MAX_PAGE);
    const { rows, total } = await deps.stores.balances.list({ chains: listParam(query, 'chains') ?? [], minBalance: numberParam(query, 'minBalance') ?? 0, perPage, page });
    return { balances: rows, pagination_page: page, pagination_total: total, pagination_per_page: perPage, pagination_item: 'balances' };
  });
}
