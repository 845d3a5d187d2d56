/**
 * Aggregates (aleph-protocol.md §7.6). The registry address's `corechannel` key is the node registry
 * computed by this node (aleph-protocol.md §8.3), served with the shape of any other aggregate.
 */
import type { FastifyInstance } from 'fastify';
import { CCN_ERRORS } from '../../errors.ts';
import type { AggregateValue } from '../../db/aggregates-repo.ts';
import { AggregatePairs } from '../../db/aggregate-pairs.ts';
import type { Stores } from '../../stores.ts';
import type { CcnConfig } from '../../config.ts';
import type { RegistryService } from '../../registry/registry-service.ts';
import { boolParam, intParam, listParam, MAX_PAGE, param, sortOrderParam, type RawQuery } from '../query.ts';

const REGISTRY_KEY = 'corechannel';

function isoTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString();
}

/** What the aggregate routes read: the aggregates, the node registry (served as `corechannel`) and the read caps. */
export interface AggregatesDeps {
  stores: Pick<Stores, 'aggregates' | 'db'>;
  registry: Pick<RegistryService, 'address' | 'snapshot'>;
  config: Pick<CcnConfig, 'maxAggregateKeysPerRead' | 'maxPagination'>;
}

export async function aggregatesRoutes(app: FastifyInstance, deps: AggregatesDeps): Promise<void> {
  const registryAddress = (): string => deps.registry.address.toLowerCase();
  /** The registry's own value stands for the `corechannel` key of the registry address. */
  const withRegistry = async (values: AggregateValue[]): Promise<AggregateValue[]> => {
    const registry = await deps.registry.snapshot();
    const rest = values.filter((v) => v.key !== REGISTRY_KEY);
    rest.push({
      key: REGISTRY_KEY,
      value: registry.value as unknown as Record<string, unknown>,
      created: registry.created,
      lastUpdated: registry.lastUpdated,
      originalItemHash: registry.originalItemHash,
      lastUpdateItemHash: registry.lastUpdateItemHash,
    });
    return rest;
  };
  const wantsRegistry = (keys: readonly string[]): boolean => keys.length === 0 || keys.includes(REGISTRY_KEY);

  app.get('/api/v0/aggregates/:file', async (request, reply) => {
    const file = (request.params as { file: string }).file;
    if (!file.endsWith('.json')) throw CCN_ERRORS.error('NOT_FOUND', 'expected /api/v0/aggregates/{address}.json');
    const address = file.slice(0, -'.json'.length);
    const query = request.query as RawQuery;
    const keys = listParam(query, 'keys') ?? [];
    // pyaleph's `limit` (default 1000) has no upper bound; reads merge at most the configured keys.
    const limit = Math.min(intParam(query, 'limit', 1000, 1, Number.MAX_SAFE_INTEGER), deps.config.maxAggregateKeysPerRead);
    const withInfo = boolParam(query, 'withInfo', false);
    const valueOnly = boolParam(query, 'valueOnly', false);
    let values = await deps.stores.aggregates.values(address, keys, limit);
    if (wantsRegistry(keys) && address.toLowerCase() === registryAddress()) values = (await withRegistry(values)).slice(0, limit);
    if (values.length === 0) throw CCN_ERRORS.error('AGGREGATE_NOT_FOUND', `no aggregate for ${address}`);
    if (valueOnly && keys.length === 1) return reply.send(values[0]?.value);
    const data: Record<string, unknown> = {};
    const info: Record<string, unknown> = {};
    for (const v of values) {
      data[v.key] = v.value;
      info[v.key] = {
        created: isoTime(v.created),
        last_updated: isoTime(v.lastUpdated),
        original_item_hash: v.originalItemHash,
        last_update_item_hash: v.lastUpdateItemHash,
      };
    }
    return { address, data, ...(withInfo ? { info } : {}) };
  });

  /**
   * The list of aggregates, one item per (owner, key) as pyaleph, paginated in SQL (pyaleph:
   * `pagination` 1..500, 422 outside): only the pairs of the page are read and merged.
   */
  const list = async (query: RawQuery): Promise<Record<string, unknown>> => {
    // pyaleph also sorts by creation_time; the list here is kept in last-update order only.
    const sortBy = param(query, 'sortBy') ?? 'last_modified';
    if (sortBy !== 'last_modified') throw CCN_ERRORS.error('INVALID_PARAMETER', 'sortBy must be last_modified');
    const keys = listParam(query, 'keys') ?? [];
    const addresses = listParam(query, 'addresses')?.map((a) => a.toLowerCase());
    // pyaleph: default 20 (DEFAULT_MESSAGES_PER_PAGE), at most 500.
    const maxPerPage = Math.min(500, deps.config.maxPagination);
    const perPage = intParam(query, 'pagination', Math.min(20, maxPerPage), 1, maxPerPage);
    const page = intParam(query, 'page', 1, 1, MAX_PAGE);
    const sortOrder = sortOrderParam(query);
    const registry = registryAddress();
    const pairs = new AggregatePairs(deps.stores.db);
    // The registry's `corechannel` is computed, not stored: it is placed at its rank among the pairs.
    const registryShown = wantsRegistry(keys) && (!addresses || addresses.includes(registry));
    const filter = { keys, addresses, exclude: registryShown ? { owner: registry, key: REGISTRY_KEY } : undefined };
    const start = (page - 1) * perPage;
    let registryEntry: { owner: string; key: string; value: unknown; created: number; lastUpdated: number } | undefined;
    let registryRank = -1;
    if (registryShown) {
      const snapshot = await deps.registry.snapshot();
      registryEntry = { owner: registry, key: REGISTRY_KEY, value: snapshot.value, created: snapshot.created, lastUpdated: snapshot.lastUpdated };
      registryRank = await pairs.countBefore(filter, registryEntry, sortOrder);
    }
    const inPage = registryRank >= start && registryRank < start + perPage;
    const sqlOffset = registryRank >= 0 && registryRank < start ? start - 1 : start;
    const positions = await pairs.page(filter, sortOrder, sqlOffset, inPage ? perPage - 1 : perPage);
    const values = await deps.stores.aggregates.valuesOfOwners(
      [...new Set(positions.map((p) => p.owner))],
      [...new Set(positions.map((p) => p.key))],
    );
    const entries = positions.map((p) => ({ ...p, value: values.get(p.owner)?.find((v) => v.key === p.key)?.value ?? {} as unknown }));
    if (registryEntry && inPage) entries.splice(registryRank - start, 0, registryEntry);
    // pyaleph: one item per (owner, key).
    return {
      aggregates: entries.map((e) => ({
        address: e.owner,
        key: e.key,
        content: e.value,
        created: isoTime(e.created),
        last_updated: isoTime(e.lastUpdated),
      })),
      pagination_per_page: perPage,
      pagination_page: page,
      pagination_total: (await pairs.count(filter)) + (registryEntry ? 1 : 0),
      pagination_item: 'aggregates',
    };
  };
  // The SDK's list_aggregates reads /api/v0/aggregates; older clients the .json form.
  app.get('/api/v0/aggregates.json', async (request) => list(request.query as RawQuery));
  app.get('/api/v0/aggregates', async (request) => list(request.query as RawQuery));
}
