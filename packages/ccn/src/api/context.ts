/** What the route modules share. */
import type { CcnConfig } from '../config.ts';
import type { HealthMonitor } from '../monitor/health-monitor.ts';
import type { Liveness } from '../network/liveness.ts';
import type { Scheduler } from '../scheduler/scheduler.ts';
import type { MessageProcessor } from '../processing/processor.ts';
import type { RegistryService } from '../registry/registry-service.ts';
import type { Stores } from '../stores.ts';
import type { SyncService } from '../sync/service.ts';
import type { PeeringApi } from '../p2p/publication.ts';

export interface ApiContext {
  stores: Stores;
  processor: MessageProcessor;
  config: CcnConfig;
  registry: RegistryService;
  /** The node key's address. */
  nodeAddress: string;
  version: string;
  /** Unix seconds. */
  clock(): number;
  /**
   * The scheduler and health monitor of the linked CRNs, and the liveness of the other CCNs when
   * it is on (absent in tests that build the API alone).
   */
  network?: { scheduler: Scheduler; monitor: HealthMonitor; liveness?: Liveness | undefined } | undefined;
  /** Anti-entropy with the peers: its status, and files fetched on demand (absent in tests that build the API alone). */
  sync?: Pick<SyncService, 'status' | 'ensureFile'> | undefined;
  /** Peering, once started (undefined when p2p is disabled): publication status, GET /api/v0/p2p/peers. */
  p2p?: (() => PeeringApi | undefined) | undefined;
}
