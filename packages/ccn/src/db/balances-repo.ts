/** Balances reported by whitelisted indexers (`balances-update` posts); the CCN reads no chain itself. */
import type { Kysely } from 'kysely';
import { countOf } from './database.ts';
import type { Tables } from './schema.ts';

interface BalanceKey {
  address_lc: string;
  chain: string;
  dapp: string;
}

export class BalancesRepo {
  readonly #db: Kysely<Tables>;

  constructor(db: Kysely<Tables>) {
    this.#db = db;
  }

  /**
   * Records an indexer report (post `itemHash`, content time `time`) and recomputes the balance
   * of every key it names. The balance in effect for (address, chain, dapp) is the report with
   * the greatest (height, time, item_hash): a stale height never wins, and equal heights are
   * decided by the total order, not by which post a node processed last (pyaleph keeps the first
   * of equal heights it processed).
   */
  async apply(itemHash: string, time: number, chain: string, dapp: string, height: number, balances: Record<string, number>): Promise<void> {
    const keys: BalanceKey[] = [];
    for (const [address, amount] of Object.entries(balances)) {
      const key = { address_lc: address.toLowerCase(), chain, dapp };
      await this.#db
        .insertInto('balance_reports')
        .values({ item_hash: itemHash, ...key, height, time, balance: amount })
        .onConflict((oc) => oc.columns(['item_hash', 'address_lc', 'chain', 'dapp']).doUpdateSet({ balance: amount }))
        .execute();
      keys.push(key);
    }
    for (const key of keys) await this.#recompute(key);
  }

  /** Removes what a report said (its post was forgotten or is evaluated again). */
  async withdraw(itemHash: string): Promise<void> {
    const keys = await this.#db.selectFrom('balance_reports').select(['address_lc', 'chain', 'dapp']).where('item_hash', '=', itemHash).execute();
    await this.#db.deleteFrom('balance_reports').where('item_hash', '=', itemHash).execute();
    for (const key of keys) await this.#recompute(key);
  }

  async #recompute(key: BalanceKey): Promise<void> {
    const best = await this.#db
      .selectFrom('balance_reports')
      .selectAll()
      .where('address_lc', '=', key.address_lc)
      .where('chain', '=', key.chain)
      .where('dapp', '=', key.dapp)
      .orderBy('height', 'desc')
      .orderBy('time', 'desc')
      .orderBy('item_hash', 'desc')
      .limit(1)
      .executeTakeFirst();
    await this.#db.deleteFrom('balances').where('address_lc', '=', key.address_lc).where('chain', '=', key.chain).where('dapp', '=', key.dapp).execute();
    if (best) await this.#db.insertInto('balances').values({ ...key, balance: best.balance, height: best.height }).execute();
  }

  /** Per-chain balances of an address (dapps summed). */
  async of(address: string): Promise<{ total: number; byChain: Record<string, number> }> {
    const rows = await this.#db
      .selectFrom('balances')
      .select(['chain', (eb) => eb.fn.sum<number>('balance').as('b')])
      .where('address_lc', '=', address.toLowerCase())
      .groupBy('chain')
      .execute();
    const byChain: Record<string, number> = {};
    let total = 0;
    for (const r of rows) {
      byChain[r.chain] = Number(r.b);
      total += Number(r.b);
    }
    return { total, byChain };
  }

  async list(opts: { chains: string[]; minBalance: number; perPage: number; page: number }): Promise<{ rows: { address: string; chain: string; balance: number }[]; total: number }> {
    let grouped = this.#db
      .selectFrom('balances')
      .select(['address_lc as address', 'chain', (eb) => eb.fn.sum<number>('balance').as('balance')])
      .groupBy(['address_lc', 'chain'])
      .having((eb) => eb.fn.sum('balance'), '>=', opts.minBalance);
    if (opts.chains.length > 0) grouped = grouped.where('chain', 'in', opts.chains);
    const total = countOf(
      (await this.#db.selectFrom(grouped.as('g')).select((eb) => eb.fn.countAll().as('n')).executeTakeFirst()) as { n: string | number } | undefined,
    );
    let q = grouped.orderBy('balance', 'desc').orderBy('address_lc');
    if (opts.perPage > 0) q = q.limit(opts.perPage).offset((opts.page - 1) * opts.perPage);
    const rows = await q.execute();
    return { rows: rows.map((r) => ({ address: r.address, chain: r.chain, balance: Number(r.balance) })), total };
  }
}
