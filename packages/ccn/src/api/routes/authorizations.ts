/**
 * pyaleph's authorization views (`web/controllers/authorizations.py`): the delegations an
 * address's `security` aggregate grants (granted), and those other addresses' aggregates grant it
 * (received), grouped by the other address, filtered and paginated over those addresses.
 */
import type { FastifyInstance } from 'fastify';
import { CCN_ERRORS } from '../../errors.ts';
import { AccountsRepo } from '../../db/accounts-repo.ts';
import type { Stores } from '../../stores.ts';
import { intParam, listParam, MAX_PAGE, param, type RawQuery } from '../query.ts';

type Entry = Record<string, unknown>;
type Grouped = Map<string, Entry[]>;

/** Owners scanned by one reverse lookup (each one's aggregate is merged to check it). */
const MAX_GRANTERS = 1000;

function addressOf(raw: string): string {
  const address = raw.endsWith('.json') ? raw.slice(0, -'.json'.length) : raw;
  if (address.length === 0 || address.length > 128 || !/^[\w.:-]+$/.test(address)) throw CCN_ERRORS.error('INVALID_PARAMETER', 'not a valid address');
  return address;
}

function authorizationsOf(value: Record<string, unknown> | undefined): Entry[] {
  const list = value?.authorizations;
  return Array.isArray(list) ? list.filter((a): a is Entry => typeof a === 'object' && a !== null && !Array.isArray(a)) : [];
}

function stringsOf(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : [];
}

/** pyaleph `filter_authorizations`: an entry without a restriction on a dimension matches any filter on it. */
function matches(entry: Entry, f: Filters): boolean {
  const overlaps = (field: string, wanted: string[] | undefined): boolean => {
    if (!wanted || wanted.length === 0) return true;
    const have = stringsOf(entry[field]);
    return have.length === 0 || have.some((h) => wanted.includes(h));
  };
  if (!overlaps('channels', f.channels) || !overlaps('types', f.types) || !overlaps('post_types', f.postTypes) || !overlaps('aggregate_keys', f.aggregateKeys)) return false;
  if (f.chains && f.chains.length > 0 && typeof entry.chain === 'string' && entry.chain !== '' && !f.chains.includes(entry.chain)) return false;
  return true;
}

interface Filters {
  channels?: string[] | undefined;
  types?: string[] | undefined;
  postTypes?: string[] | undefined;
  chains?: string[] | undefined;
  aggregateKeys?: string[] | undefined;
}

function page(grouped: Grouped, query: RawQuery, address: string): Record<string, unknown> {
  // pyaleph: pagination 1..500 (422 outside), page ≥ 1.
  const perPage = intParam(query, 'pagination', 20, 1, 500);
  const pageNo = intParam(query, 'page', 1, 1, MAX_PAGE);
  const f: Filters = {
    channels: listParam(query, 'channels'),
    types: listParam(query, 'types'),
    postTypes: listParam(query, 'postTypes', 'post_types'),
    chains: listParam(query, 'chains'),
    aggregateKeys: listParam(query, 'aggregateKeys', 'aggregate_keys'),
  };
  const filtered: [string, Entry[]][] = [];
  for (const [other, entries] of grouped) {
    const kept = entries.filter((e) => matches(e, f));
    if (kept.length > 0) filtered.push([other, kept]);
  }
  const start = (pageNo - 1) * perPage;
  return {
    authorizations: Object.fromEntries(filtered.slice(start, start + perPage)),
    pagination_page: pageNo,
    pagination_per_page: perPage,
    pagination_total: filtered.length,
    pagination_item: 'authorizations',
    address,
  };
}

/** The entries without their `address`, grouped by it (pyaleph `_build_grouped_from_content`). */
function groupByAddress(entries: Entry[]): Grouped {
  const grouped: Grouped = new Map();
  for (const { address, ...rest } of entries) {
    if (typeof address !== 'string' || address === '') continue;
    const list = grouped.get(address) ?? [];
    list.push(rest);
    grouped.set(address, list);
  }
  return grouped;
}

/** What the authorization routes read: the `security` aggregates. */
export interface AuthorizationsDeps {
  stores: Pick<Stores, 'aggregates' | 'db'>;
}

export async function authorizationsRoutes(app: FastifyInstance, deps: AuthorizationsDeps): Promise<void> {
  app.get('/api/v0/authorizations/granted/:file', async (request) => {
    const address = addressOf((request.params as { file: string }).file);
    const query = request.query as RawQuery;
    const [security] = await deps.stores.aggregates.values(address, ['security']);
    let grouped = groupByAddress(authorizationsOf(security?.value));
    const grantee = param(query, 'grantee');
    if (grantee) grouped = new Map([...grouped].filter(([a]) => a.toLowerCase() === grantee.toLowerCase()));
    return page(grouped, query, address);
  });

  app.get('/api/v0/authorizations/received/:file', async (request) => {
    const address = addressOf((request.params as { file: string }).file);
    const query = request.query as RawQuery;
    const owners = await new AccountsRepo(deps.stores.db).securityOwnersMentioning(address, MAX_GRANTERS);
    const values = await deps.stores.aggregates.valuesOfOwners(owners, ['security']);
    const granter = param(query, 'granter')?.toLowerCase();
    const grouped: Grouped = new Map();
    for (const owner of owners) {
      if (granter && owner !== granter) continue;
      const security = values.get(owner)?.find((v) => v.key === 'security');
      const mine = authorizationsOf(security?.value)
        .filter((a) => typeof a.address === 'string' && a.address.toLowerCase() === address.toLowerCase())
        .map(({ address: _omit, ...rest }) => rest);
      if (mine.length > 0) grouped.set(owner, mine);
    }
    return page(grouped, query, address);
  });
}
