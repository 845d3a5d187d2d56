/**
 * The vmm test kit (`@aleph-nodes/vmm/testing`), kept out of the production index: the
 * conformance suite every Executor backend must pass.
 */
export { runExecutorConformance, type ConformanceTarget } from './conformance.ts';
export { FakeExecutor, type FakeExecutorOptions } from './fake-executor.ts';
