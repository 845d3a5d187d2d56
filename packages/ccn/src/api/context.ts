/** What the route modules share. */
import type { CcnConfig } from '../config.ts';
import type { HealthMonitor } from '../monitor/health-monitor.ts';
import type { Scheduler } from '../scheduler/scheduler.ts';
import type { MessageProcessor } from '../processing/processor.ts';
import type { RegistryService } from '../registry/registry-service.ts';
import type { Stores } from '../stores.ts';
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
  /** The scheduler and health monitor of the linked CRNs (absent in tests that build the API alone). */
  network?: { scheduler: Scheduler; monitor: HealthMonitor } | undefined;
  /** Peering, once started (undefined when p2p is disabled): publication status, GET /api/v0/p2p/peers. */
  p2p?: (() => PeeringApi | undefined) | undefined;
}
