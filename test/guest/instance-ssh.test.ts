/**
 * An INSTANCE on the microvm executor, end to end: the Debian base image (copied as the test's
 * root disk) boots with systemd, the seed drive gives root a freshly generated ed25519 key and the
 * host name, and SSH answers on a forwarded port of the host's external address, both from the
 * host itself (nft output chain) and from "outside" (a network namespace routed through a veth
 * pair: the prerouting chain). A wrong key is
 * refused; a file written over SSH survives a stop and a start of the same disk; the second VM is
 * adopted by a new executor (a supervisor restart) and stopped through it. After each stop no
 * tap, port forward, QEMU process or VM directory is left, also when the supervisor died and
 * its successor cleans up orphans. A disk without an OS fails the boot with the console's reason.
 * Four TCG boots, one at a time.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionHandle, ExecutionSpec } from '@aleph-nodes/vmm';
import type { GuestImages } from '@aleph-nodes/guest/build';
import { MicroVmExecutor } from '../../packages/vmm/src/microvm/index.ts';
import type { MicroVmExecutorConfig } from '../../packages/vmm/src/microvm/index.ts';
import { dirEntries, guestImages, qemuProcesses, tapNames, disposeExecutor } from './helpers.ts';

const TAP_PREFIX = 'itap';
const TABLE = 'aleph_test_instance';
/** A pool of its own, so concurrent test files never share a subnet. */
const POOL = '172.31.0.0/16';
/** A high port unlikely to be taken, different per run. */
const HOST_PORT = 20_000 + (process.pid % 20_000);
const HOSTNAME = 'instance-test-host';
/** The "outside" client: a network namespace behind a veth pair (names ≤ 15 characters). */
const OUTSIDE_NS = `ivm-out-${process.pid}`;
const OUTSIDE_VETH = `ivo${process.pid % 100_000}`;
const OUTSIDE_NET = { host: '10.254.251.1', peer: '10.254.251.2', prefix: 30 };

function sh(...args: string[]): void {
  execFileSync(args[0]!, args.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
}

function createOutside(): void {
  sh('ip', 'netns', 'add', OUTSIDE_NS);
  sh('ip', 'link', 'add', OUTSIDE_VETH, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', OUTSIDE_NS);
  sh('ip', 'addr', 'add', `${OUTSIDE_NET.host}/${OUTSIDE_NET.prefix}`, 'dev', OUTSIDE_VETH);
  sh('ip', 'link', 'set', OUTSIDE_VETH, 'up');
  sh('ip', '-n', OUTSIDE_NS, 'addr', 'add', `${OUTSIDE_NET.peer}/${OUTSIDE_NET.prefix}`, 'dev', 'eth0');
  sh('ip', '-n', OUTSIDE_NS, 'link', 'set', 'eth0', 'up');
  sh('ip', '-n', OUTSIDE_NS, 'link', 'set', 'lo', 'up');
  sh('ip', '-n', OUTSIDE_NS, 'route', 'add', 'default', 'via', OUTSIDE_NET.host);
}

function removeOutside(): void {
  try {
    sh('ip', 'netns', 'del', OUTSIDE_NS);
  } catch {
    // not created
  }
  try {
    sh('ip', 'link', 'del', OUTSIDE_VETH);
  } catch {
    // gone with the namespace
  }
}

interface SshResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `ssh` as root with BatchMode; `netns` runs it from that network namespace. */
function ssh(key: string, host: string, port: number, command: string, netns?: string): Promise<SshResult> {
  const args = [
    ...(netns ? ['netns', 'exec', netns, 'ssh'] : []),
    '-i', key, '-p', String(port),
    '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null',
    '-o', 'IdentitiesOnly=yes', '-o', 'ConnectTimeout=60', '-o', 'LogLevel=ERROR',
    `root@${host}`, command,
  ];
  return new Promise((resolve) => {
    execFile(netns ? 'ip' : 'ssh', args, { timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('microVM instance over SSH', { timeout: 900_000 }, () => {
  let images: GuestImages;
  let stateDir: string;
  let work: string;
  let disk: string;
  let key: string;
  let wrongKey: string;
  let config: MicroVmExecutorConfig;
  let executor: MicroVmExecutor;
  let spec: ExecutionSpec;
  const tapsBefore = tapNames(TAP_PREFIX);
  const marker = `persisted-${process.pid}-${Date.now()}`;

  before(async () => {
    images = await guestImages();
    assert.ok(images.instances?.debian, 'the instance base image was built');
    stateDir = mkdtempSync(join(tmpdir(), 'ivm-'));
    work = mkdtempSync(join(tmpdir(), 'ivm-work-'));
    disk = join(work, 'root.ext4');
    execFileSync('cp', ['--sparse=always', images.instances.debian, disk]);
    key = join(work, 'id_ed25519');
    wrongKey = join(work, 'wrong_ed25519');
    for (const path of [key, wrongKey]) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'instance-test', '-f', path]);
    config = {
      kernel: images.kernel, initramfs: images.initramfs, defaultRuntime: images.runtimes.node, stateDir,
      network: { prefix: TAP_PREFIX, pool: POOL }, accelerator: 'tcg', firewall: { table: TABLE },
      onEvent: (line) => process.stderr.write(`# ${line}\n`),
    };
    executor = await MicroVmExecutor.create(config);
    removeOutside();
    createOutside();
    spec = {
      id: 'instance-test',
      instance: {
        rootDisk: disk,
        authorizedKeys: [readFileSync(`${key}.pub`, 'utf8').trim()],
        hostname: HOSTNAME,
        portForwards: [{ guestPort: 22, hostPort: HOST_PORT, tcp: true, udp: false }],
      },
      // Ignored for instances (the CRN passes a placeholder).
      code: { dir: work, entrypoint: 'placeholder' },
      // Persistent: its data must survive the stop and start as the root disk's does.
      volumes: [{ kind: 'persistent', source: join(work, 'data.ext4'), sizeMib: 16, mount: '/data' }],
      variables: {},
      resources: { vcpus: 1, memoryMib: 512 },
      internet: false,
    };
  });

  after(async () => {
    removeOutside();
    await disposeExecutor(executor, stateDir, work);
  });

  async function startReady(): Promise<ExecutionHandle> {
    const started = Date.now();
    const handle = await executor.start(spec);
    await handle.waitReady(600_000);
    process.stderr.write(`# instance ready (SSH port open) ${Date.now() - started} ms after start()\n`);
    return handle;
  }

  async function assertNothingLeft(ifname: string): Promise<void> {
    assert.deepEqual(tapNames(TAP_PREFIX), tapsBefore, 'no tap left');
    assert.deepEqual(qemuProcesses(stateDir), [], 'no QEMU left');
    const forwards = await executor.firewall!.portForwards();
    assert.deepEqual(forwards.filter((f) => f.comment === ifname || f.hostPort === HOST_PORT), [], 'no port forward left');
    assert.deepEqual(dirEntries(stateDir).filter((e) => e.startsWith('vm-') || e.startsWith('scratch-') || e.startsWith('.seed-')), [], 'no VM or scratch directory left');
  }

  it('boots the base image, lets the owner in with their key only, and cleans up on stop', async () => {
    const handle = await startReady();
    const network = handle.network!;
    assert.ok(network, 'the handle describes its network');
    assert.ok(network.hostIpv4, 'this host has an IPv4 default route');
    assert.equal(handle.endpoint.port, 22);
    assert.equal(handle.endpoint.host, network.ipv4Ip);
    assert.match(network.ipv4Network, /^172\.31\.\d+\.0\/24$/);
    assert.deepEqual(network.portForwards, spec.instance!.portForwards);
    const ifname = `${TAP_PREFIX}${network.ipv4Network.split('.')[2]}`;
    assert.deepEqual((await executor.firewall!.portForwards()).filter((f) => f.comment === ifname).map((f) => [f.proto, f.hostPort, f.guestIp, f.guestPort]), [['tcp', HOST_PORT, network.ipv4Ip, 22]]);

    const ok = await ssh(key, network.hostIpv4!, HOST_PORT, `uname -r; cat /etc/hostname; findmnt -n -o FSTYPE /data; echo ${marker} > /root/marker.txt; echo ${marker} > /data/marker.txt; sync`);
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(ok.stdout.trim().split('\n'), [images.kernelRelease, HOSTNAME, 'ext4']);

    // From another machine's point of view: through the prerouting DNAT and the forward chain.
    const outside = await ssh(key, network.hostIpv4!, HOST_PORT, 'hostname', OUTSIDE_NS);
    assert.equal(outside.code, 0, outside.stderr);
    assert.equal(outside.stdout.trim(), HOSTNAME);

    const refused = await ssh(wrongKey, network.hostIpv4!, HOST_PORT, 'true');
    assert.equal(refused.code, 255);
    assert.match(refused.stderr, /Permission denied/);

    // The serial console is the instance's log (boot messages of the seed reader included).
    assert.ok(handle.recentLogs().some((l) => l.text.includes('aleph-instance-init: done')), 'console lines are in the logs');

    await handle.stop(60_000);
    assert.equal(handle.state, 'stopped');
    // A clean ACPI power-off by systemd, not a kill after the grace time.
    assert.ok(handle.recentLogs().some((l) => /reboot: Power down/.test(l.text)), 'the guest powered itself off');
    const exit = await handle.exited;
    assert.equal(exit.requested, true);
    await assertNothingLeft(ifname);
  });

  it('keeps the root disk across stop and start, and is adopted after a supervisor restart', async () => {
    const handle = await startReady();
    const network = handle.network!;
    const again = await ssh(key, network.hostIpv4!, HOST_PORT, 'cat /root/marker.txt /data/marker.txt');
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(again.stdout.trim().split('\n'), [marker, marker]);

    // A new supervisor: the first detaches, the second adopts from the record.
    const record = handle.adoptionRecord();
    await executor.close();
    executor = await MicroVmExecutor.create(config);
    const adopted = await executor.adopt(JSON.parse(JSON.stringify(record)), spec);
    assert.ok(adopted, 'the running instance is adopted');
    assert.equal(adopted.state, 'running');
    assert.deepEqual(adopted.network, network);
    const through = await ssh(key, network.hostIpv4!, HOST_PORT, 'cat /etc/hostname');
    assert.equal(through.code, 0, through.stderr);
    assert.equal(through.stdout.trim(), HOSTNAME);

    const ifname = `${TAP_PREFIX}${network.ipv4Network.split('.')[2]}`;
    const stopping = Date.now();
    await adopted.stop(60_000);
    process.stderr.write(`# instance stopped (ACPI power-off) in ${Date.now() - stopping} ms\n`);
    assert.equal(adopted.state, 'stopped');
    assert.equal((await adopted.exited).requested, true);
    assert.ok(adopted.recentLogs().some((l) => /reboot: Power down/.test(l.text)), 'the adopted guest powered itself off');
    await assertNothingLeft(ifname);
  });

  it('leaves nothing behind a supervisor that died: cleanupOrphans removes VM, tap and port forwards', async () => {
    const handle = await startReady();
    const ifname = `${TAP_PREFIX}${handle.network!.ipv4Network.split('.')[2]}`;
    // The supervisor dies without stopping anything; its successor knows of no live execution.
    await executor.close();
    executor = await MicroVmExecutor.create(config);
    assert.ok(tapNames(TAP_PREFIX).includes(ifname));
    assert.equal((await executor.firewall!.portForwards()).filter((f) => f.comment === ifname).length, 1);
    await executor.cleanupOrphans(new Set());
    await assertNothingLeft(ifname);
    // The root disk is the instance's: never removed by the executor.
    assert.ok(existsSync(disk));
  });

  it('fails the boot of a disk without an OS with the reason in the logs, leaving nothing', async () => {
    const empty = join(work, 'empty.ext4');
    execFileSync('truncate', ['-s', '16M', empty]);
    execFileSync('mkfs.ext4', ['-q', '-F', empty]);
    const handle = await executor.start({ ...spec, id: 'instance-empty', volumes: [], instance: { ...spec.instance!, rootDisk: empty, portForwards: [] } });
    const ifname = `${TAP_PREFIX}${handle.network!.ipv4Network.split('.')[2]}`;
    await assert.rejects(handle.waitReady(300_000), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'START_FAILED');
      assert.match(err.message, /no \/sbin\/init/);
      return true;
    });
    assert.ok(handle.recentLogs().some((l) => l.text.includes('aleph-initramfs: FATAL')), 'the console explains it');
    await handle.exited;
    assert.equal(handle.state, 'failed');
    await assertNothingLeft(ifname);
    assert.ok(existsSync(empty));
  });
});
