/**
 * @aleph-nodes/vmm: the executor interface the CRN supervisor runs workloads through, the
 * `process` backend. The conformance suite every backend must pass is in `@aleph-nodes/vmm/testing`.
 */
export * from './executor.ts';
export { LogBuffer } from './log-buffer.ts';
export { ProcessExecutor, PROCESS_FIREWALL_TABLE_PREFIX, type ProcessExecutorOptions } from './process/process-executor.ts';
export { WORKLOAD_PORT } from './process/process-handle.ts';
export { ipv6Lease, parseIpv6Range, IPV6_SUBNET_PREFIX, type Ipv6Lease } from './net/ipv6.ts';
export { EGRESS_DENY_V4, EGRESS_DENY_V6, egressAllowed, DEFAULT_DNS_SERVERS, type EgressRange } from './net/egress.ts';
export { jailCommand, type JailSpec, type JailCommand } from './host/jail.ts';
export { workloadId } from './host/ids.ts';
export { findTool, requireTool } from './host/tools.ts';
export { seccompFilter } from './host/seccomp.ts';
export { detectHostLayout } from './process/jail-spec.ts';
export * from './microvm/index.ts';
export { Firewall, hostSubnets, type FirewallConfig } from './net/firewall.ts';
export { firewallRuleset, FIREWALL_TABLE, portForwardElements, validatePortForwards, type PortForwardEntry } from './net/firewall-rules.ts';
export { runJailedTool, type JailedToolOptions, type JailedToolResult } from './host/tool-jail.ts';
export { enableKsm, ksmState, KSM_SYSFS, type KsmState } from './host/ksm.ts';
