/**
 * pyaleph's per-address routes (`web/controllers/accounts.py`, `channels.py`): an address's
 * files, post types and channels, message counts per address (v0 and v1), and the channels in
 * use. The balance routes live in balances.ts.
 */
import type { FastifyInstance } from 'fastify';
import { CCN_ERRORS } from '../../errors.ts';
import { AccountsRepo, STAT_COLUMNS, type AddressStatsRow, type StatColumn } from '../../db/accounts-repo.ts';
import type { Stores } from '../../stores.ts';
import type { CcnConfig } from '../../config.ts';
import { cursorPageSizeParam, intParam, listParam, MAX_PAGE, pageSizeParam, param, sortOrderParam, type RawQuery } from '../query.ts';

function isoTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString();
}

/** Opaque cursors: base64url of a JSON pair; anything else is 422 (pyaleph: 422 on a bad cursor). */
function encodeCursor(a: number, b: string): string {
  return Buffer.from(JSON.stringify([a, b])).toString('base64url');
}

function decodeCursor(cursor: string): [number, string] {
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'number' && Number.isFinite(v[0]) && typeof v[1] === 'string') return [v[0], v[1]];
  } catch {
    // fall through
  }
  throw CCN_ERRORS.error('INVALID_PARAMETER', 'cursor is not valid');
}

/** An address in a path: bounded and printable (addresses of every chain fit in 128 characters). */
function addressParam(raw: string): string {
  if (raw.length === 0 || raw.length > 128 || !/^[\w.:-]+$/.test(raw)) throw CCN_ERRORS.error('INVALID_PARAMETER', 'not a valid address');
  return raw;
}

function statsDict(rows: readonly AddressStatsRow[]): Record<string, Record<string, number>> {
  return Object.fromEntries(
    rows.map((r) => [
      r.address,
      // pyaleph's v0 name for the total, kept by v1.
      { messages: r.total, aggregate: r.aggregate, forget: r.forget, instance: r.instance, post: r.post, program: r.program, store: r.store },
    ]),
  );
}

/** What the address routes read: the accounts tables and the page cap. */
export interface AddressesDeps {
  stores: Pick<Stores, 'db'>;
  config: Pick<CcnConfig, 'maxPagination'>;
}

export async function addressesRoutes(app: FastifyInstance, deps: AddressesDeps): Promise<void> {
  const repo = (): AccountsRepo => new AccountsRepo(deps.stores.db);

  app.get('/api/v0/addresses/:address/files', async (request) => {
    const address = addressParam((request.params as { address: string }).address);
    const query = request.query as RawQuery;
    const sortOrder = sortOrderParam(query);
    const fileHash = param(query, 'fileHash');
    if (fileHash !== undefined && (fileHash.length === 0 || fileHash.length > 128)) throw CCN_ERRORS.error('INVALID_PARAMETER', 'file_hash is not valid');
    const accounts = repo();
    const cursor = param(query, 'cursor');
    if (cursor !== undefined) {
      const perPage = cursorPageSizeParam(query, 100, deps.config.maxPagination);
      const after = cursor === '' ? undefined : decodeCursor(cursor);
      const rows = await accounts.files(address, { sortOrder, limit: perPage + 1, after: after && { time: after[0], hash: after[1] }, fileHash });
      const hasMore = rows.length > perPage;
      const page = rows.slice(0, perPage);
      if (page.length === 0) throw CCN_ERRORS.error('FILE_NOT_FOUND', `no file for ${address}`);
      const last = page[page.length - 1];
      return {
        address,
        total_size: (await accounts.filesStats(address)).totalSize,
        files: page.map((f) => ({ ...f, type: 'file', created: isoTime(f.created) })),
        pagination_per_page: perPage,
        next_cursor: hasMore && last ? encodeCursor(last.created, last.item_hash) : null,
      };
    }
    // pyaleph: 100 by default, 0 = no limit (served maxPagination here, and said so).
    const perPage = pageSizeParam(query, 100, deps.config.maxPagination);
    const page = intParam(query, 'page', 1, 1, MAX_PAGE);
    const rows = await accounts.files(address, { sortOrder, limit: perPage, offset: (page - 1) * perPage, fileHash });
    if (rows.length === 0) throw CCN_ERRORS.error('FILE_NOT_FOUND', `no file for ${address}`);
    const stats = await accounts.filesStats(address);
    return {
      address,
      total_size: stats.totalSize,
      files: rows.map((f) => ({ file_hash: f.file_hash, size: f.size, type: 'file', created: isoTime(f.created), item_hash: f.item_hash })),
      pagination_page: page,
      pagination_total: stats.count,
      pagination_per_page: perPage,
    };
  });

  app.get('/api/v0/addresses/:address/post_types', async (request) => {
    const address = addressParam((request.params as { address: string }).address);
    return { address, post_types: await repo().postTypes(address) };
  });

  app.get('/api/v0/addresses/:address/channels', async (request) => {
    const address = addressParam((request.params as { address: string }).address);
    return { address, channels: await repo().channelsOf(address) };
  });

  app.get('/api/v0/channels/list.json', async () => ({ channels: await repo().allChannels() }));

  /**
   * v0: the counts of the addresses named (`addresses[]`, repeated). pyaleph answers every
   * address when none is named: here at most `maxPagination` of them, most active first.
   */
  app.get('/api/v0/addresses/stats.json', async (request) => {
    const query = request.query as RawQuery;
    const addresses = listParam(query, 'addresses[]', 'addresses');
    if (addresses && addresses.length > deps.config.maxPagination) throw CCN_ERRORS.error('INVALID_PARAMETER', `at most ${deps.config.maxPagination} addresses`);
    const rows = await repo().stats({ addresses, sortBy: 'total', sortOrder: -1, limit: deps.config.maxPagination });
    return { data: statsDict(rows) };
  });

  app.get('/api/v1/addresses/stats.json', async (request) => {
    const query = request.query as RawQuery;
    const addressContains = param(query, 'addressContains');
    if (addressContains !== undefined && addressContains.length > 66) throw CCN_ERRORS.error('INVALID_PARAMETER', 'addressContains is at most 66 characters');
    const sortByRaw = param(query, 'sortBy') ?? 'total';
    if (!(STAT_COLUMNS as readonly string[]).includes(sortByRaw)) throw CCN_ERRORS.error('INVALID_PARAMETER', `sortBy must be one of ${STAT_COLUMNS.join(', ')}`);
    const sortBy = sortByRaw as StatColumn;
    const sortOrder = sortOrderParam(query);
    const accounts = repo();
    const cursor = param(query, 'cursor');
    if (cursor !== undefined) {
      const perPage = cursorPageSizeParam(query, 20, deps.config.maxPagination);
      const after = cursor === '' ? undefined : decodeCursor(cursor);
      const rows = await accounts.stats({ addressContains, sortBy, sortOrder, limit: perPage + 1, after: after && { value: after[0], address: after[1] } });
      const hasMore = rows.length > perPage;
      const page = rows.slice(0, perPage);
      const last = page[page.length - 1];
      return {
        data: statsDict(page),
        pagination_per_page: perPage,
        next_cursor: hasMore && last ? encodeCursor(last[sortBy], last.address) : null,
      };
    }
    const perPage = pageSizeParam(query, 20, deps.config.maxPagination);
    const page = intParam(query, 'page', 1, 1, MAX_PAGE);
    const rows = await accounts.stats({ addressContains, sortBy, sortOrder, limit: perPage, offset: (page - 1) * perPage });
    return {
      data: statsDict(rows),
      pagination_per_page: perPage,
      pagination_page: page,
      pagination_total: await accounts.countStats({ addressContains }),
      pagination_item: 'addresses',
    };
  });
}
