/**
 * @aleph-nodes/crn: the Compute Resource Node supervisor (aleph-vm compatible API, execution
 * pipeline and lifecycle). `CrnNode` (or `startCrn(config)`) runs one node; `main.ts` runs it as a daemon.
 */
export { CrnConfigSchema, loadCrnConfig, ccnUrls, DEFAULT_ALLOCATION_SIGNER, type CrnConfig } from './config.ts';
export { CrnNode, startCrn, type CrnState, type RunningCrn, type StartCrnOptions } from './node.ts';
export { CRN_ERRORS, type CrnErrorCode } from './errors.ts';
// The payment monitor's parts, for the bench (its cost per pass against a real CCN).
export { CcnClient } from './ccn/ccn-client.ts';
export { PaymentChecker, type PaidWorkload, type PaymentSettings } from './payments/checker.ts';
export { PaymentMonitor, type MonitorTarget, type PassReport } from './payments/monitor.ts';
