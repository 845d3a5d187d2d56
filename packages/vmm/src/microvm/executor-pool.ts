/**
 * The microVM executor's side of the warm pools (warm-pool.ts): booting a pool VM, and starting a
 * program in one it takes. The program's execution reports the pool VM's own tap (its address
 * is the endpoint, its /30 the network), and the VM is destroyed with the program, as any other.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { GuestMount } from '@aleph-nodes/guest/protocol';
import { WORKLOAD_PORT } from '@aleph-nodes/guest/protocol';
import type { ExecutionSpec } from '../executor.ts';
import type { Firewall } from '../net/firewall.ts';
import { MicroVmHandle, toExecutorError } from './executor-handle.ts';
import { networkOf } from './executor-support.ts';
import { hostIpv4 } from './host-address.ts';
import type { DriveArg } from './qemu-args.ts';
import { MicroVm } from './vm.ts';
import type { MicroVmOptions } from './vm-types.ts';
import { RuntimeDigests, writeCodeImage, type PoolVm, type WarmPoolConfig, type WarmPools } from './warm-pool.ts';

const MIB = 1024 * 1024;
/** Longest wait for a pooled program's readiness before its pool is refilled anyway. */
const REFILL_AFTER_MS = 120_000;
/** Longest wait for a pool VM's language started ahead (seconds on KVM; a loaded TCG host is slower). */
const PRESTART_WAIT_MS = 120_000;

/** What the pool functions need of the executor. */
export interface PoolContext {
  pools: WarmPools;
  digests: RuntimeDigests;
  stateDir: string;
  firewall: Firewall | undefined;
  ipPath: string;
  handles: Map<string, MicroVmHandle>;
  /** Pool VMs being booted (their directories are live for the orphan cleanup). */
  booting: Set<{ vm: MicroVm; scratch: string }>;
  common(): Omit<MicroVmOptions, 'id' | 'runtime' | 'vcpus' | 'memoryMib' | 'drives' | 'guest'>;
  dnsFor(spec: ExecutionSpec): string[];
}

/** The agent's part of a program's configuration. */
export function guestOf(spec: ExecutionSpec, mounts: GuestMount[]): MicroVmOptions['guest'] {
  return { code: { encoding: 'squashfs', serial: 'aleph-code' }, entrypoint: spec.code.entrypoint, interface: spec.code.interface, variables: spec.variables, volumes: mounts };
}

/** Boots one pool VM up to the agent's hello: no program, no internet, an empty code drive. */
export async function bootPoolVm(ctx: PoolContext, pool: WarmPoolConfig): Promise<PoolVm> {
  const scratch = await mkdtemp(join(ctx.stateDir, 'scratch-'));
  try {
    const codeImage = join(scratch, 'code.img');
    await writeFile(codeImage, '');
    // Sparse: the drive takes disk only for the code written to it.
    await truncate(codeImage, pool.codeMaxMib * MIB);
    const vm = new MicroVm({
      ...ctx.common(),
      // A name of its own until it has a program (the guest's hostname is set at configure).
      id: `pool-${randomBytes(6).toString('hex')}`,
      runtime: pool.runtime,
      vcpus: pool.vcpus,
      memoryMib: pool.memoryMib,
      drives: [{ id: 'code', path: codeImage, serial: 'aleph-code', readOnly: true }],
      guest: { code: { encoding: 'squashfs', serial: 'aleph-code' }, entrypoint: '', variables: {}, volumes: [] },
      internet: false,
      dnsServers: [],
      prestart: pool.prestart,
    });
    const booting = { vm, scratch };
    ctx.booting.add(booting);
    try {
      // prepare() and bootIdle() tear the VM down themselves when they fail.
      await vm.prepare();
      await vm.bootIdle();
      // The VM joins the pool once its language waits too: a program taking it earlier would
      // wait for that start instead of skipping it. A language that fails or is late is logged,
      // and the VM still serves (its program then gets a fresh process).
      if (pool.prestart && !(await vm.whenPrestarted(PRESTART_WAIT_MS))) vm.options.onEvent?.(`warm pool VM ${vm.options.id}: ${pool.prestart} did not start ahead`);
    } finally {
      ctx.booting.delete(booting);
    }
    return { vm, scratch, codeImage, pool };
  } catch (err) {
    await rm(scratch, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Starts `spec` in a pool VM when one fits (else undefined: the caller boots a VM of its own).
 * `code` is the program's code drive, prepared in `scratch`, which is removed once copied.
 */
export async function startPooled(ctx: PoolContext, spec: ExecutionSpec, runtime: string, code: DriveArg, scratch: string): Promise<MicroVmHandle | undefined> {
  const codeBytes = (await stat(code.path)).size;
  const poolRuntime = await ctx.digests.poolRuntimeOf(ctx.pools.pools, runtime);
  if (poolRuntime === undefined) return undefined;
  const entry = ctx.pools.take({ runtime: poolRuntime, vcpus: spec.resources.vcpus, memoryMib: spec.resources.memoryMib, volumes: spec.volumes.length, codeBytes });
  if (!entry) return undefined;
  const { vm } = entry;
  const tap = vm.tap!;
  let network;
  try {
    await writeCodeImage(code.path, entry.codeImage);
    if (spec.internet) {
      if (!ctx.firewall) throw new Error('internet access needs the firewall (NAT)');
      await ctx.firewall.allowInternet(tap.ifname, tap.ipv6?.network);
    }
    network = networkOf(tap, await hostIpv4(ctx.ipPath), []);
  } catch (err) {
    // Taken, never to return to the pool: destroyed at once.
    await vm.stop(0).catch(() => {});
    await rm(entry.scratch, { recursive: true, force: true });
    throw toExecutorError(err, []);
  }
  await rm(scratch, { recursive: true, force: true });
  const boot = vm.configure({ id: spec.id, guest: guestOf(spec, []), dnsServers: ctx.dnsFor(spec) });
  // The replacement boots once this program accepts connections (or failed, or after the cap).
  void boot.then(() => vm.waitReady(REFILL_AFTER_MS)).catch(() => {}).finally(() => ctx.pools.refillDue());
  const handle = new MicroVmHandle(spec, { host: tap.guestIp, port: WORKLOAD_PORT }, network, vm, entry.scratch, () => ctx.handles.delete(spec.id), boot);
  ctx.handles.set(spec.id, handle);
  return handle;
}
