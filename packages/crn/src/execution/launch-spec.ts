/**
 * From a ref to what the executor starts: the executable message behind it, the admission of a
 * launch (what it becomes and reserves, checked against the capacity), then, once the code,
 * runtime, volumes or root disk are prepared, the `ExecutionSpec` of a program or an instance.
 * Kept out of supervisor.ts, which sequences these and handles the failures.
 */
import { hashToHostLabel, isSha256Hex, sha256Hex, type InstanceContent, type ProgramContent } from '@aleph-nodes/protocol';
import type { ExecutionSpec, Executor } from '@aleph-nodes/vmm';
import { CcnError, type CcnClient, type VerifiedMessage } from '../ccn/ccn-client.ts';
import { ON_DEMAND_PROGRAM, type AlephVmType } from '../db/records.ts';
import { CRN_ERRORS } from '../errors.ts';
import { admissionFailure, type CapacitySettings, type ResourceAmounts } from './admission.ts';
import { Execution } from './execution.ts';
import { idleSecondsFor, isCapped, ownerQuotaFailure, type OnDemandPolicy, type OwnedReservation } from './owner-quota.ts';
import { instancePortForwards, prepareInstance } from './prepare-instance.ts';
import { prepareProgram, type PrepareContext } from './prepare.ts';
import type { SupervisorDeps } from './supervisor-deps.ts';

/** The executor's id of `ref`: item hashes as they are, other refs hashed (a fixed, safe shape). */
export function executorIdOf(ref: string): string {
  return isSha256Hex(ref) ? ref : sha256Hex(ref);
}

/** The executable message behind `ref`, or the HTTP error that explains why not. */
function unsupportedInstances(executor: Executor): Error {
  return CRN_ERRORS.error('UNSUPPORTED_WORKLOAD', `this node's executor (${executor.name}) cannot boot instances: it lacks the instances capability`);
}

export async function executableMessage(ccn: CcnClient, executor: Executor, ref: string): Promise<VerifiedMessage> {
  let verified: VerifiedMessage | undefined;
  try {
    verified = await ccn.getMessage(ref);
  } catch (err) {
    if (err instanceof CcnError && err.code === 'NOT_FOUND') verified = undefined;
    else throw CRN_ERRORS.error('CCN_UNAVAILABLE', (err as Error).message);
  }
  if (!verified) throw CRN_ERRORS.error('UNKNOWN_REF', `No message ${ref} on the CCN`);
  const type = verified.message.type;
  if (type === 'INSTANCE' && !executor.capabilities.instances) throw unsupportedInstances(executor);
  if (type !== 'PROGRAM' && type !== 'INSTANCE') throw CRN_ERRORS.error('NOT_EXECUTABLE', `Message ${ref} is a ${type}, not a PROGRAM or an INSTANCE`);
  return verified;
}

/** What a launch of `message` becomes and reserves before anything is downloaded. */
export interface LaunchShape {
  vmType: AlephVmType;
  persistent: boolean;
  wanted: ResourceAmounts;
}

export function launchShape(message: VerifiedMessage, persistent: boolean): LaunchShape {
  const content = message.content as unknown as ProgramContent;
  const isInstance = message.message.type === 'INSTANCE';
  // Instances always run persistently (crn-api.md §6.3); their root disk counts as disk.
  if (isInstance) persistent = true;
  const vmType: AlephVmType = isInstance ? 'instance' : persistent ? 'persistent_program' : ON_DEMAND_PROGRAM;
  const volumeMib = content.volumes.reduce((n, v) => n + ('size_mib' in v ? v.size_mib : 0), 0);
  const rootfsMib = isInstance ? (message.content as unknown as InstanceContent).rootfs.size_mib : 0;
  const wanted: ResourceAmounts = { vcpus: content.resources.vcpus, memoryMib: content.resources.memory, diskMib: volumeMib + rootfsMib };
  return { vmType, persistent, wanted };
}

/** A launch let in: its execution and the settle functions of the execution's `ready`. */
export interface AdmittedLaunch {
  exec: Execution;
  ready: Promise<void>;
  settle: { resolve: () => void; reject: (err: unknown) => void };
}

/** What admission checks a launch against: the node's capacity and the on-demand caps per owner. */
export interface AdmissionInput {
  capacity: CapacitySettings;
  /** Resources of every live execution. */
  committed: ResourceAmounts;
  policy: OnDemandPolicy;
  /** The live executions (for the owner's share). */
  live: Iterable<OwnedReservation>;
}

/**
 * Checks a launch of `message` against the capacity, then against its owner's on-demand caps,
 * and creates its execution. Synchronous: a caller that records the execution before its next
 * await cannot let two concurrent launches past either limit.
 */
export function admitLaunch(ref: string, message: VerifiedMessage, persistent: boolean, input: AdmissionInput): AdmittedLaunch {
  const shape = launchShape(message, persistent);
  const failure = admissionFailure(input.capacity, input.committed, shape.wanted);
  if (failure) throw CRN_ERRORS.error('INSUFFICIENT_CAPACITY', `Insufficient capacity: ${failure}`);
  const capped = isCapped(input.policy, ref, message, shape.persistent);
  if (capped) {
    const owner = String(message.content.address ?? message.message.sender);
    const over = ownerQuotaFailure(input.policy.quota, owner, input.live, shape.wanted);
    if (over) throw CRN_ERRORS.error('OWNER_LIMIT', `Per-owner limit for unpaid on-demand programs: ${over}`);
  }
  let settle!: AdmittedLaunch['settle'];
  const ready = new Promise<void>((resolve, reject) => {
    settle = { resolve, reject };
  });
  const exec = new Execution(ref, executorIdOf(ref), message, shape.vmType, shape.persistent, shape.wanted, ready);
  exec.capped = capped;
  exec.idleSeconds = idleSecondsFor(input.policy, capped);
  return { exec, ready, settle };
}

/** What the executor starts, with the cache entries it uses and the disk it reserves. */
export interface PreparedSpec {
  spec: ExecutionSpec;
  cacheKeys: string[];
  diskMib: number;
}

/** The services and settings preparing a launch uses. */
export type LaunchDeps = Pick<SupervisorDeps, 'executor' | 'ccn' | 'cache' | 'portForwards' | 'settings'>;

/** Downloads and prepares what `exec` runs (program or instance) and builds its spec. */
export function prepareLaunch(deps: LaunchDeps, exec: Execution, content: ProgramContent): Promise<PreparedSpec> {
  const s = deps.settings;
  const ctx: PrepareContext = {
    ccn: deps.ccn,
    cache: deps.cache,
    volumesDir: s.volumesDir,
    maxDownloadBytes: s.maxDownloadBytes,
    unzip: s.unzip,
    capabilities: deps.executor.capabilities,
  };
  return exec.vmType === 'instance' ? prepareInstanceSpec(ctx, exec, deps) : prepareProgramSpec(ctx, exec, content, s.ccnUrl);
}

export async function prepareProgramSpec(ctx: PrepareContext, exec: Execution, content: ProgramContent, ccnUrl: string): Promise<PreparedSpec> {
  const prepared = await prepareProgram(ctx, exec.id, content);
  const spec: ExecutionSpec = {
    id: exec.id,
    code: { dir: prepared.codeDir, entrypoint: prepared.entrypoint, image: prepared.codeImage, contentKey: prepared.contentKey, interface: prepared.interface },
    runtime: prepared.runtimePath ? { path: prepared.runtimePath } : undefined,
    volumes: prepared.volumes,
    variables: { ...guestVariables(exec.ref, ccnUrl, ctx.capabilities.runtimeImages), ...(content.variables ?? {}) },
    resources: { vcpus: content.resources.vcpus, memoryMib: content.resources.memory },
    internet: content.environment.internet,
  };
  return { spec, cacheKeys: prepared.cacheKeys, diskMib: prepared.diskMib };
}

/** Root disk, keys, hostname and port forwards of an INSTANCE (microvm executor only). */
export async function prepareInstanceSpec(ctx: PrepareContext, exec: Execution, deps: LaunchDeps): Promise<PreparedSpec> {
  if (!deps.executor.capabilities.instances) throw unsupportedInstances(deps.executor);
  const s = deps.settings;
  const content = exec.message.content as unknown as InstanceContent;
  const prepared = await prepareInstance({ ...ctx, instancesDir: s.instancesDir, maxImageBytes: s.maxImageBytes }, exec.ref, exec.id, content);
  const portForwards = await instancePortForwards(deps.ccn, deps.portForwards, exec.owner, exec.ref);
  const spec: ExecutionSpec = {
    id: exec.id,
    instance: { rootDisk: prepared.rootDisk, authorizedKeys: prepared.authorizedKeys, hostname: prepared.hostname, portForwards },
    // Ignored for instances (the executor boots the root disk); a valid placeholder.
    code: { dir: prepared.codeDir, entrypoint: prepared.entrypoint },
    runtime: undefined,
    volumes: prepared.volumes,
    // `variables` are not applied to instances (crn-api.md §6.3).
    variables: {},
    resources: { vcpus: content.resources.vcpus, memoryMib: content.resources.memory },
    internet: content.environment.internet,
  };
  return { spec, cacheKeys: prepared.cacheKeys, diskMib: prepared.diskMib };
}

/**
 * The variables a guest of the reference gets (guest-and-network.md §3.3). In a runtime image the
 * guest agent sets the guest API ones itself (its Unix socket inside the VM, as aleph's init
 * does), so only the address comes from here.
 */
export function guestVariables(ref: string, ccnUrl: string, runtimeImage = false): Record<string, string> {
  const address = isSha256Hex(ref) ? hashToHostLabel(ref) : String(ref);
  if (runtimeImage) return { ALEPH_ADDRESS_TO_USE: address };
  return {
    ALEPH_INIT_VERSION: 'process-1',
    ALEPH_API_HOST: ccnUrl,
    ALEPH_API_UNIX_SOCKET: '',
    ALEPH_REMOTE_CRYPTO_HOST: '',
    ALEPH_REMOTE_CRYPTO_UNIX_SOCKET: '',
    ALEPH_ADDRESS_TO_USE: address,
  };
}
