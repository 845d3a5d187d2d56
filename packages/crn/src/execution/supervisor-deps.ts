/**
 * What a Supervisor is built with: its settings (timeouts, capacity, directories, limits) and
 * the services it drives (executor, CCN, cache, records, port forwards, logger, hooks). Kept
 * apart so the helpers beside supervisor.ts can name the parts they need without importing the
 * Supervisor class.
 */
import type { Logger } from '@aleph-nodes/service';
import type { Executor } from '@aleph-nodes/vmm';
import type { CcnClient, VerifiedMessage } from '../ccn/ccn-client.ts';
import type { PortForwardTable } from '../db/port-forwards.ts';
import type { ExecutionRecords } from '../db/records.ts';
import type { RetiredMessages } from '../db/retired.ts';
import type { DownloadCache } from '../storage/download-cache.ts';
import type { CapacitySettings } from './admission.ts';
import type { Execution } from './execution.ts';
import type { OnDemandPolicy } from './owner-quota.ts';

export interface SupervisorSettings {
  idleTimeoutSeconds: number;
  startTimeoutSeconds: number;
  stopTimeoutSeconds: number;
  restartBackoffMaxSeconds: number;
  capacity: CapacitySettings;
  volumesDir: string;
  /** Root disks of instances (`<instancesDir>/<id>/rootfs.ext4`), kept until forget or erase. */
  instancesDir: string;
  maxDownloadBytes: number;
  /** Largest instance parent image downloaded. */
  maxImageBytes: number;
  /** Instances boot a whole OS: they get longer than programs to answer on port 22. */
  instanceStartTimeoutSeconds: number;
  /** ...and need longer to power off cleanly (a killed OS may lose what it had not flushed). */
  instanceStopTimeoutSeconds: number;
  unzip: { maxEntries: number; maxTotalBytes: number };
  ccnUrl: string;
  /** Per-owner caps and idle timeouts of on-demand programs; none = no caps, `idleTimeoutSeconds` for all. */
  onDemand?: OnDemandPolicy;
}

export interface SupervisorDeps {
  executor: Executor;
  ccn: CcnClient;
  cache: DownloadCache;
  records: ExecutionRecords;
  /** Messages that never run again here (forgotten, rejected, removed). */
  retired: RetiredMessages;
  /** Host ports forwarded to instances. */
  portForwards: PortForwardTable;
  logger: Logger;
  settings: SupervisorSettings;
  /** Called on every state change (metrics). */
  onStateChange?: (exec: Execution) => void;
  /**
   * The payment gate (payments/): runs before every start (on-demand, persistent, notify,
   * restarts) with the live executions; throws the HTTP error that refuses the start (402...).
   */
  beforeStart?: (ref: string, message: VerifiedMessage, live: readonly Execution[]) => Promise<void>;
  /** Called with every executable message loaded (on.message subscriptions). */
  onExecutableMessage?: (message: VerifiedMessage) => void;
}
