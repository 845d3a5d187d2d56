/** Node information: version, public multiaddresses, pyaleph metrics JSON (aleph-protocol.md §7.9; Prometheus: routes/metrics.ts), storage limits. */
import type { FastifyInstance } from 'fastify';
import type { Stores } from '../../stores.ts';
import type { CcnConfig } from '../../config.ts';
import type { ApiContext } from '../context.ts';

/** What the information routes read: counts, pins, peering status and the advertised limits. */
export interface InfoDeps {
  stores: Pick<Stores, 'messages' | 'files'>;
  config: Pick<CcnConfig, 'multiaddress' | 'websocketMaxConnections' | 'maxSignedUploadBytes' | 'maxAnonymousUploadBytes'>;
  version: string;
  p2p: ApiContext['p2p'];
}

export async function infoRoutes(app: FastifyInstance, deps: InfoDeps): Promise<void> {
  const version = { version: deps.version };
  app.get('/api/v0/version', async () => version);
  app.get('/version', async () => version);

  app.get('/api/v0/info/public.json', async () => ({ node_multi_addresses: deps.config.multiaddress ? [deps.config.multiaddress] : [] }));

  const counts = (): Promise<Record<string, number>> => deps.stores.messages.countByStatus();

  /**
   * pyaleph's `Metrics` dataclass, every field: what this node does not track (chain sync, the
   * reference node, per-type task queues, fetch counters) is 0 or null as on a pyaleph node
   * without them. `python_version` is the runtime's version (Node.js here).
   */
  app.get('/metrics.json', async () => {
    const c = await counts();
    const peers = deps.p2p?.()?.status().connected;
    return {
      pyaleph_build_info: { python_version: process.versions.node, version: deps.version },
      pyaleph_status_peers_total: Array.isArray(peers) ? peers.length : 0,
      pyaleph_status_sync_messages_total: c.processed ?? 0,
      pyaleph_status_sync_permanent_files_total: await deps.stores.files.totalPins(),
      pyaleph_status_sync_pending_messages_total: c.pending ?? 0,
      pyaleph_status_sync_pending_txs_total: 0,
      pyaleph_status_chain_eth_last_committed_height: null,
      pyaleph_processing_pending_messages_seen_ids_total: null,
      pyaleph_processing_pending_messages_tasks_total: c.pending ?? 0,
      pyaleph_processing_pending_messages_aggregate_tasks: 0,
      pyaleph_processing_pending_messages_forget_tasks: 0,
      pyaleph_processing_pending_messages_post_tasks: 0,
      pyaleph_processing_pending_messages_program_tasks: 0,
      pyaleph_processing_pending_messages_store_tasks: 0,
      pyaleph_processing_pending_messages_action_total: null,
      pyaleph_status_sync_messages_reference_total: null,
      pyaleph_status_sync_messages_remaining_total: null,
      pyaleph_status_chain_eth_height_reference_total: null,
      pyaleph_status_chain_eth_height_remaining_total: null,
      pyaleph_ws_messages_connections_active: 0,
      pyaleph_ws_messages_connections_max: deps.config.websocketMaxConnections,
      pyaleph_ws_status_connections_active: 0,
      pyaleph_ws_status_connections_max: 0,
      pyaleph_ws_messages_broadcast_total: 0,
      pyaleph_ws_messages_connections_rejected_total: 0,
      pyaleph_ws_status_connections_rejected_total: 0,
      pyaleph_ws_broadcaster_consumer_restarts_total: 0,
      pyaleph_store_fetch_ipfs_total: 0,
      pyaleph_store_fetch_ipfs_failed_total: 0,
      pyaleph_store_fetch_ipfs_duration_ms_sum: 0,
      pyaleph_store_fetch_storage_total: 0,
      pyaleph_store_fetch_storage_failed_total: 0,
      pyaleph_store_fetch_storage_duration_ms_sum: 0,
      // Ours, kept from before: rejected messages.
      pyaleph_status_sync_rejected_messages_total: c.rejected ?? 0,
    };
  });

  /**
   * pyaleph `/api/v0/storage/limits.json`: upload limits in bytes per engine. The IPFS routes
   * here take the anonymous limit whether signed or not, and no CAR uploads (0).
   */
  app.get('/api/v0/storage/limits.json', async () => ({
    storage: { max_file_size: deps.config.maxSignedUploadBytes, max_unauthenticated_upload_file_size: deps.config.maxAnonymousUploadBytes },
    ipfs: {
      max_upload_file_size: deps.config.maxAnonymousUploadBytes,
      max_upload_car_size: 0,
      max_unauthenticated_upload_file_size: deps.config.maxAnonymousUploadBytes,
    },
  }));
}
