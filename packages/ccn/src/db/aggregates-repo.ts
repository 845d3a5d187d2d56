/**
 * Aggregate elements. The value of (owner, key) is the shallow merge of its elements in the total
 * order (content time, then item_hash: processing/order.ts; aleph-protocol.md §4.4); it is computed on
 * read, so a late element older than the newest, or a forgotten one, changes the value at once:
 * the fold is recomputed, never patched.
 *
 * pyaleph sorts the elements by content time only (`creation_datetime`) and leaves equal times
 * to the database (an upstream TODO): two CCNs could merge two elements of the same time in
 * different orders. Here item_hash breaks the tie, so every CCN merges the same way.
 */
import type { ExpressionBuilder, Kysely, Selectable } from 'kysely';
import { countOf, sql } from './database.ts';
import type { AggregateElementsTable, Tables } from './schema.ts';

export interface AggregateValue {
  key: string;
  value: Record<string, unknown>;
  created: number;
  lastUpdated: number;
  originalItemHash: string;
  lastUpdateItemHash: string;
}

/** Which owners the list route shows: having any of `keys` (all when empty), among `addresses`. */
export interface OwnerFilter {
  keys: readonly string[];
  /** Lowercase addresses; undefined = every owner. */
  addresses?: readonly string[] | undefined;
  /** A lowercase owner left out (served apart: the registry address). */
  exclude?: string | undefined;
}

/** An owner in the list order: last update first (sortOrder -1) or last (1), then address. */
export interface OwnerPosition {
  owner: string;
  lastUpdated: number;
}

type ElementsEb = ExpressionBuilder<Tables, 'aggregate_elements'>;

function ownerConditions(eb: ElementsEb, f: OwnerFilter) {
  const conds = [];
  if (f.keys.length > 0) conds.push(eb('key', 'in', [...f.keys]));
  if (f.addresses) conds.push(f.addresses.length > 0 ? eb('owner_lc', 'in', [...f.addresses]) : sql<boolean>`1 = 0`);
  if (f.exclude) conds.push(eb('owner_lc', '!=', f.exclude));
  return eb.and(conds);
}

/** Merges elements (ordered by key, time, hash) into one value per key. */
function merge(rows: readonly Selectable<AggregateElementsTable>[]): AggregateValue[] {
  const byKey = new Map<string, AggregateValue>();
  for (const row of rows) {
    const content = JSON.parse(row.content) as Record<string, unknown>;
    const agg = byKey.get(row.key);
    if (!agg) {
      byKey.set(row.key, {
        key: row.key,
        value: { ...content },
        created: row.time,
        lastUpdated: row.time,
        originalItemHash: row.item_hash,
        lastUpdateItemHash: row.item_hash,
      });
    } else {
      Object.assign(agg.value, content);
      agg.lastUpdated = row.time;
      agg.lastUpdateItemHash = row.item_hash;
    }
  }
  return [...byKey.values()];
}

export class AggregatesRepo {
  readonly #db: Kysely<Tables>;

  constructor(db: Kysely<Tables>) {
    this.#db = db;
  }

  async insert(itemHash: string, owner: string, key: string, time: number, content: Record<string, unknown>): Promise<void> {
    await this.#db
      .insertInto('aggregate_elements')
      .values({ item_hash: itemHash, owner_lc: owner.toLowerCase(), key, time, content: JSON.stringify(content) })
      .onConflict((oc) => oc.column('item_hash').doNothing())
      .execute();
  }

  /** Removes an element (forgotten, or evaluated again), retired or not. */
  async delete(itemHash: string): Promise<void> {
    await this.#db.deleteFrom('aggregate_elements').where('item_hash', '=', itemHash).execute();
    await this.#db.deleteFrom('retired_security_elements').where('item_hash', '=', itemHash).execute();
  }

  /**
   * A `security` element forgotten by a FORGET at `at`: it leaves the aggregate's value but stays
   * in effect, for permission checks, before the first FORGET that forgot it (see valueBefore).
   * Called again by each further FORGET of it: the earliest position is kept.
   */
  async retire(itemHash: string, at: { time: number; hash: string }): Promise<void> {
    const live = await this.#db.selectFrom('aggregate_elements').selectAll().where('item_hash', '=', itemHash).executeTakeFirst();
    if (live) {
      await this.#db.deleteFrom('aggregate_elements').where('item_hash', '=', itemHash).execute();
      await this.#db
        .insertInto('retired_security_elements')
        .values({ item_hash: itemHash, owner_lc: live.owner_lc, time: live.time, content: live.content, retired_time: at.time, retired_hash: at.hash })
        .execute();
      return;
    }
    const retired = await this.#db.selectFrom('retired_security_elements').selectAll().where('item_hash', '=', itemHash).executeTakeFirst();
    if (!retired) return;
    const earlier = at.time < retired.retired_time || (at.time === retired.retired_time && at.hash < retired.retired_hash);
    if (earlier) await this.#db.updateTable('retired_security_elements').set({ retired_time: at.time, retired_hash: at.hash }).where('item_hash', '=', itemHash).execute();
  }

  /** The FORGET that retired an element was evaluated again: the next earliest one, if any. */
  async setRetiredAt(itemHash: string, at: { time: number; hash: string }): Promise<void> {
    await this.#db.updateTable('retired_security_elements').set({ retired_time: at.time, retired_hash: at.hash }).where('item_hash', '=', itemHash).execute();
  }

  /**
   * The value of (owner, key) as it stood just before `before` in the total order: the fold of
   * the elements that precede it. Permissions are judged on the `security` aggregate as of the
   * message being judged, so a grant or revocation that arrives late changes the verdict the
   * same way on every node (processing/permissions.ts).
   */
  async valueBefore(owner: string, key: string, before: { time: number; hash: string }): Promise<AggregateValue | undefined> {
    const rows = await this.#db
      .selectFrom('aggregate_elements')
      .selectAll()
      .where('owner_lc', '=', owner.toLowerCase())
      .where('key', '=', key)
      .where((eb) => eb.or([eb('time', '<', before.time), eb.and([eb('time', '=', before.time), eb('item_hash', '<', before.hash)])]))
      .execute();
    // Forgotten `security` elements count before the FORGET that forgot them, not after.
    const retired =
      key === 'security'
        ? await this.#db
            .selectFrom('retired_security_elements')
            .select(['item_hash', 'owner_lc', 'time', 'content'])
            .where('owner_lc', '=', owner.toLowerCase())
            .where((eb) => eb.or([eb('time', '<', before.time), eb.and([eb('time', '=', before.time), eb('item_hash', '<', before.hash)])]))
            .where((eb) => eb.or([eb('retired_time', '>', before.time), eb.and([eb('retired_time', '=', before.time), eb('retired_hash', '>', before.hash)])]))
            .execute()
        : [];
    const all = [...rows, ...retired.map((r) => ({ ...r, key }))];
    all.sort((a, b) => a.time - b.time || (a.item_hash < b.item_hash ? -1 : a.item_hash > b.item_hash ? 1 : 0));
    return merge(all)[0];
  }

  /** Hashes of the elements of (owner, key). */
  async elementHashes(owner: string, key: string): Promise<string[]> {
    const rows = await this.#db.selectFrom('aggregate_elements').select('item_hash').where('owner_lc', '=', owner.toLowerCase()).where('key', '=', key).execute();
    return rows.map((r) => r.item_hash);
  }

  /**
   * Merged values of an owner's keys (all keys when `keys` is empty); with `maxKeys`, only the
   * first keys in name order are read (the limit is applied in SQL, before any element is loaded).
   */
  async values(owner: string, keys: readonly string[] = [], maxKeys?: number): Promise<AggregateValue[]> {
    const lc = owner.toLowerCase();
    let wanted = [...keys];
    if (maxKeys !== undefined) {
      let q = this.#db.selectFrom('aggregate_elements').select('key').distinct().where('owner_lc', '=', lc);
      if (keys.length > 0) q = q.where('key', 'in', [...keys]);
      wanted = (await q.orderBy('key').limit(maxKeys).execute()).map((r) => r.key);
      if (wanted.length === 0) return [];
    }
    let q = this.#db.selectFrom('aggregate_elements').selectAll().where('owner_lc', '=', lc);
    if (wanted.length > 0) q = q.where('key', 'in', wanted);
    return merge(await q.orderBy('key').orderBy('time').orderBy('item_hash').execute());
  }

  /** Merged values of several owners at once (one query), by lowercase owner. */
  async valuesOfOwners(owners: readonly string[], keys: readonly string[]): Promise<Map<string, AggregateValue[]>> {
    const out = new Map<string, AggregateValue[]>();
    if (owners.length === 0) return out;
    let q = this.#db.selectFrom('aggregate_elements').selectAll().where('owner_lc', 'in', [...owners]);
    if (keys.length > 0) q = q.where('key', 'in', [...keys]);
    const rows = await q.orderBy('owner_lc').orderBy('key').orderBy('time').orderBy('item_hash').execute();
    const byOwner = new Map<string, Selectable<AggregateElementsTable>[]>();
    for (const row of rows) {
      const list = byOwner.get(row.owner_lc) ?? [];
      list.push(row);
      byOwner.set(row.owner_lc, list);
    }
    for (const [owner, list] of byOwner) out.set(owner, merge(list));
    return out;
  }

  /** One page of owners in list order, paginated in SQL. */
  async ownersPage(filter: OwnerFilter, sortOrder: 1 | -1, offset: number, limit: number): Promise<OwnerPosition[]> {
    if (limit <= 0) return [];
    const rows = await this.#db
      .selectFrom('aggregate_elements')
      .select((eb) => ['owner_lc', eb.fn.max('time').as('last_updated')])
      .where((eb) => ownerConditions(eb, filter))
      .groupBy('owner_lc')
      .orderBy((eb) => eb.fn.max('time'), sortOrder === 1 ? 'asc' : 'desc')
      .orderBy('owner_lc', 'asc')
      .limit(limit)
      .offset(offset)
      .execute();
    return rows.map((r) => ({ owner: r.owner_lc, lastUpdated: Number(r.last_updated) }));
  }

  /** How many owners the filter shows. */
  async countOwners(filter: OwnerFilter): Promise<number> {
    const row = await this.#db
      .selectFrom('aggregate_elements')
      .select((eb) => eb.fn.count('owner_lc').distinct().as('n'))
      .where((eb) => ownerConditions(eb, filter))
      .executeTakeFirst();
    return countOf(row as { n: string | number } | undefined);
  }

  /** How many owners of the filter come before `pivot` in list order. */
  async countOwnersBefore(filter: OwnerFilter, pivot: OwnerPosition, sortOrder: 1 | -1): Promise<number> {
    const owners = this.#db
      .selectFrom('aggregate_elements')
      .select('owner_lc')
      .where((eb) => ownerConditions(eb, filter))
      .groupBy('owner_lc')
      .having((eb) =>
        eb.or([
          eb(eb.fn.max('time'), sortOrder === 1 ? '<' : '>', pivot.lastUpdated),
          eb.and([eb(eb.fn.max('time'), '=', pivot.lastUpdated), eb('owner_lc', '<', pivot.owner)]),
        ]),
      )
      .as('before');
    const row = await this.#db.selectFrom(owners).select((eb) => eb.fn.countAll().as('n')).executeTakeFirst();
    return countOf(row as { n: string | number } | undefined);
  }
}
