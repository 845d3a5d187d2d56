/** What the route modules share: the node's parts, passed explicitly (no module state). */
import type { Logger } from '@aleph-nodes/service';
import type { Executor } from '@aleph-nodes/vmm';
import type { CcnClient } from '../ccn/ccn-client.ts';
import type { CrnConfig } from '../config.ts';
import type { ExecutionRecords } from '../db/records.ts';
import type { CapacitySettings } from '../execution/admission.ts';
import type { Supervisor } from '../execution/supervisor.ts';
import type { PaymentChecker } from '../payments/checker.ts';
import type { CrnMetrics } from '../metrics.ts';
import type { DownloadCache } from '../storage/download-cache.ts';

export interface ApiContext {
  config: CrnConfig;
  address: string;
  supervisor: Supervisor;
  executor: Executor;
  ccn: CcnClient;
  cache: DownloadCache;
  records: ExecutionRecords;
  metrics: CrnMetrics;
  /** Payment checks (gate, last verdicts for the execution list). */
  payments: PaymentChecker;
  capacity: CapacitySettings;
  logger: Logger;
  /** `aleph-vm/1.14.0` */
  serverHeader: string;
  /** Per-start operator token (crn-api.md §2.3). */
  loginToken: string;
  isDraining(): boolean;
}
