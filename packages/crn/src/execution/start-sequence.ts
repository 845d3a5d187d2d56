/**
 * The start of one execution, from `preparing` to `running`: prepare what it runs, re-check the
 * disk reservation now that the code's size is known, start it through the executor and wait
 * until it answers (port 8080, or SSH for an instance). Failures are thrown as they come: the
 * supervisor turns them into a failed execution (and maybe a restart).
 */
import type { ProgramContent } from '@aleph-nodes/protocol';
import type { ExecutionHandle } from '@aleph-nodes/vmm';
import { CRN_ERRORS } from '../errors.ts';
import { admissionFailure, type ResourceAmounts } from './admission.ts';
import type { Execution } from './execution.ts';
import { prepareLaunch, type LaunchDeps } from './launch-spec.ts';

/** What the start sequence needs from the supervisor. */
export interface StartContext {
  deps: LaunchDeps;
  /** Resources of the live executions other than `exec`. */
  othersCommitted(exec: Execution): ResourceAmounts;
  /** Records and reports a state change of `exec`. */
  changed(exec: Execution): void;
  /** Keeps the handle on the execution and watches its exit. */
  attach(exec: Execution, handle: ExecutionHandle): void;
}

/** Runs the start sequence; `exec` is `running` when it returns its handle. */
export async function startExecution(ctx: StartContext, exec: Execution, content: ProgramContent): Promise<ExecutionHandle> {
  const s = ctx.deps.settings;
  const prepared = await prepareLaunch(ctx.deps, exec, content);
  exec.releaseCache = ctx.deps.cache.pin(prepared.cacheKeys);
  exec.cacheKeys = prepared.cacheKeys;
  // The code's size is only known now: check the disk reservation again before starting.
  const withCode = { ...exec.resources, diskMib: Math.max(exec.resources.diskMib, prepared.diskMib) };
  const failure = admissionFailure(s.capacity, ctx.othersCommitted(exec), withCode);
  if (failure) throw CRN_ERRORS.error('INSUFFICIENT_CAPACITY', `Insufficient capacity: ${failure}`);
  exec.resources.diskMib = withCode.diskMib;
  if (exec.state === 'stopping') throw new Error('stopped while preparing');
  exec.setState('starting');
  ctx.changed(exec);
  const handle = await ctx.deps.executor.start(prepared.spec);
  ctx.attach(exec, handle);
  ctx.changed(exec);
  await handle.waitReady((exec.vmType === 'instance' ? s.instanceStartTimeoutSeconds : s.startTimeoutSeconds) * 1000);
  if (exec.state !== 'starting') throw new Error('stopped while starting');
  exec.setState('running');
  return handle;
}
