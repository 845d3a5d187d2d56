/**
 * Per-address reads of pyaleph's `/addresses/…` routes: the files an address's STOREs pin, the
 * post types and channels it used, and its processed-message counts per type (pyaleph
 * `db/accessors/messages.py`, `files.py`). Addresses match case-insensitively (pyaleph compares
 * them as stored; ours are kept lowercase beside the original).
 */
import type { Kysely } from 'kysely';
import { countOf, sql } from './database.ts';
import type { Tables } from './schema.ts';

export interface AccountFileRow {
  file_hash: string;
  size: number;
  /** The STORE's time (pyaleph: the pin's creation). */
  created: number;
  item_hash: string;
}

export const STAT_COLUMNS = ['post', 'aggregate', 'store', 'forget', 'program', 'instance', 'total'] as const;
export type StatColumn = (typeof STAT_COLUMNS)[number];

export interface AddressStatsRow {
  address: string;
  total: number;
  post: number;
  aggregate: number;
  store: number;
  forget: number;
  program: number;
  instance: number;
}

export interface StatsQuery {
  addresses?: readonly string[] | undefined;
  /** Case-insensitive substring of the address. */
  addressContains?: string | undefined;
  sortBy: StatColumn;
  sortOrder: 1 | -1;
  /** Offset paging (page mode). */
  offset?: number | undefined;
  limit: number;
  /** Keyset paging (cursor mode): rows strictly after (sort value, address). */
  after?: { value: number; address: string } | undefined;
}

/** `%`, `_` and the escape character itself match literally in a LIKE pattern. */
function likeContains(s: string): string {
  return `%${s.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

export class AccountsRepo {
  readonly #db: Kysely<Tables>;

  constructor(db: Kysely<Tables>) {
    this.#db = db;
  }

  #filesQuery(owner: string, fileHash: string | undefined) {
    let q = this.#db
      .selectFrom('file_pins')
      .innerJoin('messages', 'messages.item_hash', 'file_pins.item_hash')
      .innerJoin('files', 'files.hash', 'file_pins.file_hash')
      .where('messages.type', '=', 'STORE')
      .where('messages.status', 'in', ['processed', 'removing'])
      .where('messages.owner_lc', '=', owner.toLowerCase());
    if (fileHash !== undefined) q = q.where('file_pins.file_hash', '=', fileHash);
    return q;
  }

  /** The files pinned by the address's STOREs, newest first (or oldest with sortOrder 1). */
  async files(
    owner: string,
    opts: { sortOrder: 1 | -1; limit: number; offset?: number; after?: { time: number; hash: string } | undefined; fileHash?: string | undefined },
  ): Promise<AccountFileRow[]> {
    const dir = opts.sortOrder === 1 ? 'asc' : 'desc';
    const cmp = opts.sortOrder === 1 ? '>' : '<';
    let q = this.#filesQuery(owner, opts.fileHash)
      .select(['file_pins.file_hash as file_hash', 'files.size as size', 'messages.time as created', 'messages.item_hash as item_hash'])
      .orderBy('messages.time', dir)
      .orderBy('messages.item_hash', dir)
      .limit(opts.limit);
    const after = opts.after;
    if (after) {
      q = q.where((eb) =>
        eb.or([eb('messages.time', cmp, after.time), eb.and([eb('messages.time', '=', after.time), eb('messages.item_hash', cmp, after.hash)])]),
      );
    }
    if (opts.offset) q = q.offset(opts.offset);
    const rows = await q.execute();
    return rows.map((r) => ({ file_hash: r.file_hash, size: Number(r.size), created: Number(r.created), item_hash: r.item_hash }));
  }

  /** How many (file, STORE) pairs the address has and the total size of its files (pyaleph counts each pin). */
  async filesStats(owner: string): Promise<{ count: number; totalSize: number }> {
    const row = await this.#filesQuery(owner, undefined)
      .select((eb) => [eb.fn.countAll().as('n'), eb.fn.sum<number>('files.size').as('size')])
      .executeTakeFirst();
    return { count: countOf(row as { n: string | number } | undefined), totalSize: Number(row?.size ?? 0) };
  }

  /** Distinct types of the POSTs the address sent (amends included, as pyaleph), sorted. */
  async postTypes(address: string): Promise<string[]> {
    const rows = await this.#db
      .selectFrom('messages')
      .select('content_type')
      .distinct()
      .where('sender_lc', '=', address.toLowerCase())
      .where('type', '=', 'POST')
      .where('content_type', 'is not', null)
      .orderBy('content_type')
      .execute();
    return rows.map((r) => r.content_type).filter((t): t is string => t !== null);
  }

  /** Distinct channels of the messages the address sent, sorted. */
  async channelsOf(address: string): Promise<string[]> {
    const rows = await this.#db
      .selectFrom('messages')
      .select('channel')
      .distinct()
      .where('sender_lc', '=', address.toLowerCase())
      .where('channel', 'is not', null)
      .orderBy('channel')
      .execute();
    return rows.map((r) => r.channel).filter((c): c is string => c !== null);
  }

  /** Every channel a processed message used, sorted (pyaleph `/channels/list.json`). */
  async allChannels(): Promise<string[]> {
    const rows = await this.#db
      .selectFrom('messages')
      .select('channel')
      .distinct()
      .where('status', '=', 'processed')
      .where('channel', 'is not', null)
      .orderBy('channel')
      .execute();
    return rows.map((r) => r.channel).filter((c): c is string => c !== null);
  }

  #statsBase(q: Pick<StatsQuery, 'addresses' | 'addressContains'>) {
    const count = (type: string) => sql<number>`sum(case when type = ${type} then 1 else 0 end)`;
    let base = this.#db
      .selectFrom('messages')
      .select((eb) => [
        'sender as address',
        eb.fn.countAll<number>().as('total'),
        count('POST').as('post'),
        count('AGGREGATE').as('aggregate'),
        count('STORE').as('store'),
        count('FORGET').as('forget'),
        count('PROGRAM').as('program'),
        count('INSTANCE').as('instance'),
      ])
      .where('status', '=', 'processed')
      .groupBy('sender');
    if (q.addresses) base = base.where('sender', 'in', q.addresses.length > 0 ? [...q.addresses] : ['']);
    if (q.addressContains) base = base.where(sql<boolean>`sender_lc like ${likeContains(q.addressContains)} escape '\\'`);
    return base;
  }

  /** Processed-message counts per sender, sorted by one count then address. */
  async stats(q: StatsQuery): Promise<AddressStatsRow[]> {
    const dir = q.sortOrder === 1 ? 'asc' : 'desc';
    const column = sql.ref(`s.${q.sortBy}`);
    let outer = this.#db
      .selectFrom(this.#statsBase(q).as('s'))
      .selectAll()
      .orderBy(column, dir)
      .orderBy('s.address', 'asc')
      .limit(q.limit);
    const after = q.after;
    if (after) {
      const cmp = q.sortOrder === 1 ? sql`>` : sql`<`;
      outer = outer.where(sql<boolean>`(${column} ${cmp} ${after.value} or (${column} = ${after.value} and s.address > ${after.address}))`);
    }
    if (q.offset) outer = outer.offset(q.offset);
    const rows = (await outer.execute()) as Record<string, unknown>[];
    return rows.map((r) => ({
      address: String(r.address),
      total: Number(r.total),
      post: Number(r.post),
      aggregate: Number(r.aggregate),
      store: Number(r.store),
      forget: Number(r.forget),
      program: Number(r.program),
      instance: Number(r.instance),
    }));
  }

  async countStats(q: Pick<StatsQuery, 'addresses' | 'addressContains'>): Promise<number> {
    const row = await this.#db
      .selectFrom(this.#statsBase(q).as('s'))
      .select((eb) => eb.fn.countAll().as('n'))
      .executeTakeFirst();
    return countOf(row as { n: string | number } | undefined);
  }

  /**
   * Owners (lowercase) one of whose `security` elements names the address: the candidates of a
   * reverse authorization lookup, whose merged value the caller checks. At most `limit`.
   */
  async securityOwnersMentioning(address: string, limit: number): Promise<string[]> {
    const rows = await this.#db
      .selectFrom('aggregate_elements')
      .select('owner_lc')
      .distinct()
      .where('key', '=', 'security')
      .where(sql<boolean>`lower(content) like ${likeContains(address)} escape '\\'`)
      .orderBy('owner_lc')
      .limit(limit)
      .execute();
    return rows.map((r) => r.owner_lc);
  }
}
