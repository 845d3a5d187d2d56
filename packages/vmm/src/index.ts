/**
 * @aleph-nodes/vmm: the executor interface the CRN supervisor runs workloads through, the
 * `process` backend, and the conformance suite every backend must pass.
 */
export * from './executor.ts';
export { LogBuffer } from './log-buffer.ts';
export { ProcessExecutor, WORKLOAD_PORT, type ProcessExecutorOptions } from './process/process-executor.ts';
export { runExecutorConformance, type ConformanceTarget } from './conformance.ts';
export * from './microvm/index.ts';
export { runJailedTool, type JailedToolOptions, type JailedToolResult } from './host/tool-jail.ts';
export { requireTool } from './host/tools.ts';
