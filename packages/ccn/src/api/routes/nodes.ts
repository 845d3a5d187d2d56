/**
 * Our plain registry routes (the reference has none): the node lists, and what happened to each
 * `corechan-operation`, so that an ignored operation is visible with its reason.
 */
import { isItemHash } from '@aleph-nodes/protocol';
import type { FastifyInstance } from 'fastify';
import { CCN_ERRORS } from '../../errors.ts';
import type { Stores } from '../../stores.ts';
import type { CcnConfig } from '../../config.ts';
import type { RegistryService } from '../../registry/registry-service.ts';
import type { ApiContext } from '../context.ts';

/** What the node routes read: the registry, the linked CRNs' health, the operation messages. */
export interface NodesDeps {
  stores: Pick<Stores, 'messages'>;
  registry: Pick<RegistryService, 'address' | 'snapshot'>;
  config: Pick<CcnConfig, 'maxLinkedCrns' | 'registryTag'>;
  network: ApiContext['network'];
}

export async function nodesRoutes(app: FastifyInstance, deps: NodesDeps): Promise<void> {
  app.get('/api/v0/nodes', async () => {
    const { value, outcomes } = await deps.registry.snapshot();
    return {
      registry_address: deps.registry.address,
      // The tag an operation must carry here: the operator commands default to it.
      registry_tag: deps.config.registryTag,
      max_linked_crns: deps.config.maxLinkedCrns,
      nodes: value.nodes,
      resource_nodes: value.resource_nodes,
      // Health of the CRNs linked to this CCN, as its monitor sees them (the entries above keep
      // the reference aggregate's exact shape).
      resource_node_health: Object.fromEntries(
        (deps.network?.scheduler.crns() ?? []).map((c) => {
          const h = deps.network?.monitor.status(c.hash);
          return [c.hash, { health: h?.health ?? 'unknown', consecutive_failures: h?.consecutiveFailures ?? 0, last_probe_at: h?.lastRoundAt ?? null, version: h?.version ?? null }];
        }),
      ),
      ignored_operations: [...outcomes.values()]
        .filter((o) => o.status === 'ignored')
        .map((o) => ({ item_hash: o.itemHash, action: o.action, sender: o.sender, time: o.time, reason: o.reason })),
    };
  });

  app.get('/api/v0/nodes/operations/:hash', async (request) => {
    const hash = (request.params as { hash: string }).hash;
    if (!isItemHash(hash)) throw CCN_ERRORS.error('INVALID_HASH');
    const { outcomes } = await deps.registry.snapshot();
    const outcome = outcomes.get(hash);
    if (outcome) {
      return { item_hash: hash, action: outcome.action, status: outcome.status, ...(outcome.reason ? { reason: outcome.reason } : {}) };
    }
    // Not replayed: the message itself is pending, rejected, forgotten, or not an operation.
    const row = await deps.stores.messages.get(hash);
    if (!row || (row.status === 'processed' && row.content_type !== 'corechan-operation')) {
      throw CCN_ERRORS.error('NOT_FOUND', `no node operation ${hash}`);
    }
    return {
      item_hash: hash,
      action: null,
      status: row.status === 'rejected' ? 'rejected' : row.status,
      ...(row.error_details ? { reason: row.error_details, error_code: row.error_code } : {}),
    };
  });
}
