/**
 * The aggregate list as pyaleph pages it (`db/accessors/aggregates.py` `get_aggregates`): one
 * item per (owner, key), in last-update order (then owner, then key), paginated in SQL. The
 * values themselves are merged by AggregatesRepo.
 */
import type { ExpressionBuilder, Kysely } from 'kysely';
import { countOf, sql } from './database.ts';
import type { Tables } from './schema.ts';

export interface PairFilter {
  keys: readonly string[];
  /** Lowercase owners; undefined = every owner. */
  addresses?: readonly string[] | undefined;
  /** One (lowercase owner, key) left out: the registry's computed `corechannel`, served apart. */
  exclude?: { owner: string; key: string } | undefined;
}

export interface PairPosition {
  owner: string;
  key: string;
  created: number;
  lastUpdated: number;
}

type ElementsEb = ExpressionBuilder<Tables, 'aggregate_elements'>;

function conditions(eb: ElementsEb, f: PairFilter) {
  const conds = [];
  if (f.keys.length > 0) conds.push(eb('key', 'in', [...f.keys]));
  if (f.addresses) conds.push(f.addresses.length > 0 ? eb('owner_lc', 'in', [...f.addresses]) : sql<boolean>`1 = 0`);
  if (f.exclude) conds.push(eb.not(eb.and([eb('owner_lc', '=', f.exclude.owner), eb('key', '=', f.exclude.key)])));
  return eb.and(conds);
}

export class AggregatePairs {
  readonly #db: Kysely<Tables>;

  constructor(db: Kysely<Tables>) {
    this.#db = db;
  }

  async page(filter: PairFilter, sortOrder: 1 | -1, offset: number, limit: number): Promise<PairPosition[]> {
    if (limit <= 0) return [];
    const dir = sortOrder === 1 ? 'asc' : 'desc';
    const rows = await this.#db
      .selectFrom('aggregate_elements')
      .select((eb) => ['owner_lc', 'key', eb.fn.min('time').as('created'), eb.fn.max('time').as('last_updated')])
      .where((eb) => conditions(eb, filter))
      .groupBy(['owner_lc', 'key'])
      .orderBy((eb) => eb.fn.max('time'), dir)
      .orderBy('owner_lc', 'asc')
      .orderBy('key', 'asc')
      .limit(limit)
      .offset(offset)
      .execute();
    return rows.map((r) => ({ owner: r.owner_lc, key: r.key, created: Number(r.created), lastUpdated: Number(r.last_updated) }));
  }

  async count(filter: PairFilter): Promise<number> {
    const pairs = this.#db
      .selectFrom('aggregate_elements')
      .select(['owner_lc', 'key'])
      .where((eb) => conditions(eb, filter))
      .groupBy(['owner_lc', 'key'])
      .as('pairs');
    const row = await this.#db.selectFrom(pairs).select((eb) => eb.fn.countAll().as('n')).executeTakeFirst();
    return countOf(row as { n: string | number } | undefined);
  }

  /** How many pairs of the filter come before `pivot` in list order. */
  async countBefore(filter: PairFilter, pivot: Omit<PairPosition, 'created'>, sortOrder: 1 | -1): Promise<number> {
    const pairs = this.#db
      .selectFrom('aggregate_elements')
      .select(['owner_lc', 'key'])
      .where((eb) => conditions(eb, filter))
      .groupBy(['owner_lc', 'key'])
      .having((eb) =>
        eb.or([
          eb(eb.fn.max('time'), sortOrder === 1 ? '<' : '>', pivot.lastUpdated),
          eb.and([
            eb(eb.fn.max('time'), '=', pivot.lastUpdated),
            eb.or([eb('owner_lc', '<', pivot.owner), eb.and([eb('owner_lc', '=', pivot.owner), eb('key', '<', pivot.key)])]),
          ]),
        ]),
      )
      .as('before');
    const row = await this.#db.selectFrom(pairs).select((eb) => eb.fn.countAll().as('n')).executeTakeFirst();
    return countOf(row as { n: string | number } | undefined);
  }
}
