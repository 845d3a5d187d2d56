import type { Logger } from '@aleph-nodes/service';

/** What every scenario gets from the bench command. */
export interface BenchContext {
  quick: boolean;
  executor: string;
  /** The directory of the `ccn`/`crn` launchers, to run nodes as separate processes. */
  binDir: string;
  logger: Logger;
  /** The microVM scenarios: programs started through the CRN (0: skip them) and bare boots. */
  microVm: { programs: number; bareBoots: number; pythonPool: boolean };
  /** Scenario groups to run (ccn-ingest, ccn-files, ccn-network, crn-warm-path, crn-payments, cache, microvm); all when undefined. */
  only?: string[] | undefined;
}
