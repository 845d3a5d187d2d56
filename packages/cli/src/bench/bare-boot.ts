/**
 * The physical limit of a cold start: a bare QEMU boot of the same kernel, initramfs and runtime
 * image the CRN boots, whose init runs the same app directly (no supervisor, no guest agent),
 * timed from QEMU's start to the app's first HTTP answer on the guest's port 8080.
 *
 * How the app runs without the agent: the runtime's init (packages/guest/assets/runtime-init.sh)
 * has a benchmark hook, the kernel argument `aleph.bare_init=<serial>`: it mounts the squashfs
 * drive with that serial at /opt/bare and runs its `init` script instead of the agent. The drive
 * built here holds that script (network from `aleph.bare_ip=`, then `node main.mjs`) and the app.
 * Networking is the executor's: one tap device per VM (packages/vmm/src/microvm/tap.ts), the
 * guest at `.2` of its /24, removed after each boot.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BARE_INIT_MARKER, KERNEL_ARG, ROOT_DRIVE_SERIAL } from '@aleph-nodes/guest/protocol';
import { buildQemuArgs, createTap, deleteTap, DEFAULT_TAP_POOL, hostTscKhz, type Accelerator, type TapPoolConfig } from '@aleph-nodes/vmm';
import { nowMs } from './stats.ts';
import { reserveRoutedSubnets } from './subnets.ts';

const run = promisify(execFile);

const BARE_SERIAL = 'aleph-bare';
/** Console line the runtime's init prints when it takes the hook: the end of the kernel + initramfs phase. */
const INIT_MARKER = BARE_INIT_MARKER;

const BARE_INIT = `#!/bin/sh
# Bare boot (bench): the network from the kernel arguments, then the app on port 8080, nothing else.
for v in $(cat /proc/cmdline); do case "$v" in aleph.bare_ip=*) addr="\${v#aleph.bare_ip=}" ;; esac; done
ip link set lo up
ip addr add "$addr" dev eth0
ip link set eth0 up
echo "aleph-bare: starting the app"
cd /opt/bare/app && exec /usr/bin/node main.mjs
`;

export interface BareBootImages {
  kernel: string;
  initramfs: string;
  /** The runtime root filesystem (squashfs) the CRN boots. */
  runtime: string;
}

export interface BareBootResult {
  /** QEMU start to the runtime's init (kernel + initramfs + switch_root). */
  toInitMs: number;
  /** QEMU start to the app's first HTTP answer. */
  toFirstAnswerMs: number;
}

/** A prepared bare-boot drive: `boot()` may be called several times, `close()` removes everything. */
export interface BareBooter {
  boot(): Promise<BareBootResult>;
  close(): void;
}

/** What every bare boot of one series shares. */
interface BareBootSettings {
  images: BareBootImages;
  workDir: string;
  accelerator: Accelerator;
  kvmCpu?: string;
  memoryMib: number;
  /** TCG translation cache (MiB; default the executor's DEFAULT_TCG_TB_MIB). */
  tcgTbMib?: number;
  qemuPath?: string;
  timeoutMs?: number;
}

/** Packs the init script and the app (`files`, entry `main.mjs`) into the drive the hook mounts. */
export async function prepareBareBoot(input: BareBootSettings & { files: Record<string, string> }): Promise<BareBooter> {
  if (!input.files['main.mjs']) throw new Error('the bare boot runs main.mjs: the app must have one');
  const stage = join(input.workDir, 'bare-drive');
  mkdirSync(join(stage, 'app'), { recursive: true });
  writeFileSync(join(stage, 'init'), BARE_INIT, { mode: 0o755 });
  for (const [name, text] of Object.entries(input.files)) writeFileSync(join(stage, 'app', name), text);
  const drive = join(input.workDir, 'bare.squashfs');
  await run('mksquashfs', [stage, drive, '-noappend', '-no-progress', '-quiet', '-all-root', '-comp', 'zstd'], { timeout: 60_000 });
  // Same pool as the executor, far from the numbers CRNs lease from (they start at 4): a CRN
  // running on this host keeps its guests, and their addresses, while the bare guest boots.
  const pool: TapPoolConfig = { ...DEFAULT_TAP_POOL, prefix: 'bbtap', firstId: 4000, leaseDir: join(input.workDir, 'tap-leases') };
  reserveRoutedSubnets(pool.leaseDir, pool.firstId);
  let count = 0;
  return {
    boot: () => bootOnce({ ...input, drive, pool, index: count++ }),
    close: () => rmSync(stage, { recursive: true, force: true }),
  };
}

async function bootOnce(input: BareBootSettings & { drive: string; pool: TapPoolConfig; index: number }): Promise<BareBootResult> {
  const owner = `bench-bare-${process.pid}-${input.index}`;
  const dir = join(input.workDir, `boot-${input.index}`);
  mkdirSync(dir, { recursive: true });
  const tap = await createTap(input.pool, owner);
  const consolePath = join(dir, 'console.log');
  writeFileSync(consolePath, '');
  const args = buildQemuArgs({
    accelerator: input.accelerator,
    kvmCpu: input.kvmCpu ?? 'host',
    vcpus: 1,
    memoryMib: input.memoryMib,
    kernel: input.images.kernel,
    initramfs: input.images.initramfs,
    consolePath,
    qmpSocket: join(dir, 'qmp.sock'),
    drives: [
      { id: 'root', path: input.images.runtime, serial: ROOT_DRIVE_SERIAL, readOnly: true },
      { id: 'bare', path: input.drive, serial: BARE_SERIAL, readOnly: true },
    ],
    tap: { ifname: tap.ifname, mac: tap.mac },
    tscKhz: hostTscKhz(),
    tcgTbMib: input.tcgTbMib,
    extraKernelArgs: [`${KERNEL_ARG.bareInit}${BARE_SERIAL}`, `aleph.bare_ip=${tap.guestIp}/${tap.prefixLength}`],
    sandbox: false,
  });
  const started = nowMs();
  const qemu = spawn(input.qemuPath ?? 'qemu-system-x86_64', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  qemu.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  let exited = false;
  const exit = new Promise<void>((resolve) => qemu.once('exit', () => {
    exited = true;
    resolve();
  }));
  // The console is watched on its own timer so that the init time is not quantized by the HTTP polls.
  let toInitMs = Number.NaN;
  let seen = 0;
  const watcher = setInterval(() => {
    if (!Number.isNaN(toInitMs)) return;
    const text = readFileSync(consolePath, 'utf8');
    if (text.length === seen) return;
    seen = text.length;
    if (text.includes(INIT_MARKER)) toInitMs = nowMs() - started;
  }, 5);
  try {
    const deadline = started + (input.timeoutMs ?? 120_000);
    for (;;) {
      if (await answers(`http://${tap.guestIp}:8080/`)) {
        // An answer before the guest's init ran came from someone else at that address.
        if (Number.isNaN(toInitMs)) throw new Error(`${tap.guestIp}:8080 answered before the bare guest booted: the address is in use on this host`);
        return { toInitMs, toFirstAnswerMs: nowMs() - started };
      }
      if (exited) throw new Error(`QEMU exited during the bare boot: ${stderr.trim() || consoleTail(consolePath)}`);
      if (nowMs() > deadline) throw new Error(`the bare boot did not answer within ${input.timeoutMs ?? 120_000} ms: ${consoleTail(consolePath)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    clearInterval(watcher);
    if (!exited) qemu.kill('SIGKILL');
    await exit;
    await deleteTap(input.pool, tap, owner);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One GET with a short timeout: true on any HTTP answer. */
function answers(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(url, { timeout: 250, agent: false }, (res) => {
      res.resume();
      res.once('end', () => resolve(true));
      res.once('error', () => resolve(true));
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(false));
    req.end();
  });
}

function consoleTail(path: string): string {
  try {
    return readFileSync(path, 'utf8').replace(/\r/g, '').trim().split('\n').slice(-5).join(' | ');
  } catch {
    return '(no console)';
  }
}
