/**
 * Payment reads, pyaleph's shapes:
 * - `GET /api/v0/credit_balances?page=&pagination=&min_balance=` → `{credit_balances: [{address,
 *   credits}], pagination_*}` (every address that ever held credits, computed now);
 * - `GET /api/v0/addresses/{a}/credit_history?page=&pagination=` → `{address, credit_history:
 *   [{amount, credit_ref, credit_index, message_timestamp, expiration_date, origin, ...}]}`, newest
 *   first: distributions and transfers positive, expenses and consumption negative (consumption:
 *   `origin: "consumption"`, `credit_ref` the consuming message);
 * - `GET /api/v0/addresses/{a}/flows` (ours) → `{address, outgoing: [{chain, receiver,
 *   rate_per_hour, since}], incoming: [{chain, sender, rate_per_hour, since}]}`, with `?history=true`
 *   also `history`: every report naming the address, oldest first (the flows' history);
 * - `GET /api/v0/messages/{h}/consumed_credits` → `{item_hash, consumed_credits}`;
 * - `GET /api/v0/payments/income?from=&to=` (ours, for `ccn rewards`): flow income per receiver
 *   and credit consumption per CRN over the period (payments/income.ts).
 */
import { isItemHash } from '@aleph-nodes/protocol';
import type { FastifyInstance } from 'fastify';
import { CCN_ERRORS } from '../../errors.ts';
import type { Stores } from '../../stores.ts';
import type { CcnConfig } from '../../config.ts';
import { MAX_PAGE, boolParam, intParam, numberParam, pageSizeParam, type RawQuery } from '../query.ts';
import { incomeBetween } from '../../payments/income.ts';
import { addressParam } from './balances.ts';

function isoOf(seconds: number | null): string | null {
  return seconds === null ? null : new Date(seconds * 1000).toISOString();
}

/** What the payment routes read: credits, flows, consumption and the flow reports (income), at the node's clock. */
export interface PaymentsDeps {
  stores: Stores;
  config: Pick<CcnConfig, 'maxPagination'>;
  clock(): number;
}

export async function paymentsRoutes(app: FastifyInstance, deps: PaymentsDeps): Promise<void> {
  app.get('/api/v0/credit_balances', async (request) => {
    const query = request.query as RawQuery;
    const perPage = pageSizeParam(query, 100, deps.config.maxPagination);
    const page = intParam(query, 'page', 1, 1, MAX_PAGE);
    const min = numberParam(query, 'min_balance') ?? 0;
    const now = deps.clock();
    const all: { address: string; credits: number }[] = [];
    for (const address of await deps.stores.payments.creditAddresses()) {
      const credits = await deps.stores.payments.creditBalance(address, now);
      if (credits >= min) all.push({ address, credits });
    }
    all.sort((a, b) => b.credits - a.credits || (a.address < b.address ? -1 : 1));
    const rows = perPage > 0 ? all.slice((page - 1) * perPage, page * perPage) : all;
    return { credit_balances: rows, pagination_per_page: perPage, pagination_page: page, pagination_total: all.length, pagination_item: 'credit_balances' };
  });

  app.get('/api/v0/addresses/:address/credit_history', async (request) => {
    const address = addressParam((request.params as { address: string }).address);
    const query = request.query as RawQuery;
    const perPage = pageSizeParam(query, 100, deps.config.maxPagination);
    const page = intParam(query, 'page', 1, 1, MAX_PAGE);
    const events = (await deps.stores.payments.creditEventRows(address)).map((e) => {
      const d = JSON.parse(e.details) as Record<string, unknown>;
      const negative = e.kind === 'expense' || e.kind === 'transfer_out';
      return {
        amount: negative ? -e.amount : e.amount,
        price: d.price ?? null,
        bonus_amount: d.bonus_amount ?? null,
        tx_hash: d.tx_hash ?? null,
        token: d.token ?? null,
        chain: d.chain ?? null,
        provider: d.provider ?? null,
        origin: d.origin ?? e.kind,
        origin_ref: d.ref ?? null,
        payment_method: d.payment_method ?? null,
        credit_ref: e.item_hash,
        credit_index: e.idx,
        expiration_date: isoOf(e.expiration),
        message_timestamp: isoOf(e.time),
        t: e.time,
      };
    });
    const consumed = (await deps.stores.payments.consumptionRows(address)).map((c) => ({
      amount: -c.amount,
      price: null,
      bonus_amount: null,
      tx_hash: null,
      token: null,
      chain: null,
      provider: null,
      origin: 'consumption',
      origin_ref: c.item_hash,
      payment_method: null,
      credit_ref: c.item_hash,
      credit_index: 0,
      expiration_date: null,
      message_timestamp: isoOf(c.boundary),
      t: c.boundary,
    }));
    const all = [...events, ...consumed].sort((a, b) => b.t - a.t || (a.credit_ref < b.credit_ref ? 1 : a.credit_ref > b.credit_ref ? -1 : b.credit_index - a.credit_index));
    const rows = (perPage > 0 ? all.slice((page - 1) * perPage, page * perPage) : all).map(({ t: _t, ...rest }) => rest);
    return { address, credit_history: rows, pagination_page: page, pagination_total: all.length, pagination_per_page: perPage };
  });

  app.get('/api/v0/addresses/:address/flows', async (request) => {
    const address = addressParam((request.params as { address: string }).address);
    const a = address.toLowerCase();
    const flows = await deps.stores.payments.currentFlows(address);
    const history = boolParam(request.query as RawQuery, 'history', false) ? await deps.stores.payments.flowHistory(address) : undefined;
    return {
      address,
      ...(history ? { history } : {}),
      outgoing: flows.filter((f) => f.sender === a).map((f) => ({ chain: f.chain, receiver: f.receiver, rate_per_hour: f.rate_per_hour, since: f.since })),
      incoming: flows.filter((f) => f.receiver === a).map((f) => ({ chain: f.chain, sender: f.sender, rate_per_hour: f.rate_per_hour, since: f.since })),
    };
  });

  app.get('/api/v0/messages/:hash/consumed_credits', async (request) => {
    const hash = (request.params as { hash: string }).hash;
    if (!isItemHash(hash)) throw CCN_ERRORS.error('INVALID_HASH', `${String(hash).slice(0, 80)} is not an item hash`);
    const last = await deps.stores.payments.lastConsumption(hash);
    return { item_hash: hash, consumed_credits: last?.cumulative ?? 0 };
  });

  app.get('/api/v0/payments/income', async (request) => {
    const query = request.query as RawQuery;
    const from = numberParam(query, 'from');
    const to = numberParam(query, 'to');
    if (from === undefined || to === undefined || !(to > from) || from < 0 || to > 1e11) {
      throw CCN_ERRORS.error('INVALID_PARAMETER', 'from and to (unix seconds, to after from) are required');
    }
    return incomeBetween(deps.stores, from, to);
  });
}
