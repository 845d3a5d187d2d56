/**
 * Warm pools of the microVM executor, with real QEMU (TCG): a pool VM booted ahead serves one
 * program (its code written to the VM's code drive, its configuration sent to the waiting agent,
 * the execution reporting the pool VM's tap); stopping that program destroys the VM and returns
 * nothing to the pool; the pool refills with a NEW VM; a second program never gets the first
 * one's VM (another QEMU pid, another guest boot id, none of the first program's files); and
 * nothing is left behind (taps, nft rules, cgroups, QEMU, directories). One VM runs at a time.
 * Pool VMs start Node.js ahead; the program is imported into it unless it sets a variable that
 * acts only at a language start (then a fresh Node.js). A program whose runtime is another file
 * with the pool runtime's bytes takes a pool VM too.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ExecutionSpec } from '@aleph-nodes/vmm';
import { detectCgroups } from '../../packages/vmm/src/host/cgroups.ts';
import { MicroVmExecutor } from '../../packages/vmm/src/microvm/microvm-executor.ts';
import { cgroupScope, VM_CGROUP_PARENT } from '../../packages/vmm/src/microvm/vm-jail.ts';
import { guestImages, qemuProcesses, tapNames, disposeExecutor } from '../guest/helpers.ts';

const TAP_PREFIX = `vpol${process.pid % 1000}`;
const TABLE = `aleph_test_pool_${process.pid}`;

// Reports what the VM it runs in holds: its own code files, what an earlier program could have
// left in /tmp, the guest's boot id (new at every boot) and host name; leaves a mark in /tmp.
const PROGRAM = `
import http from 'node:http';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
writeFileSync('/tmp/mark-' + process.env.WHO, 'x');
http.createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({
    who: process.env.WHO,
    hostname: hostname(),
    code: readdirSync('/opt/code').sort(),
    tmp: readdirSync('/tmp').filter((n) => n.startsWith('mark-')).sort(),
    bootId: readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(),
    // The Node.js the pool VM started ahead keeps its command line (guest launcher.ts).
    launched: readFileSync('/proc/self/cmdline', 'utf8').split('\\0').includes('--aleph-launcher'),
  }));
}).listen(8080);
`;

interface Report { who: string; hostname: string; code: string[]; tmp: string[]; bootId: string; launched: boolean }

describe('microVM warm pool: one program per pool VM, never reused', { skip: process.getuid?.() !== 0 ? 'needs root' : false, timeout: 900_000 }, () => {
  let stateDir: string;
  let work: string;
  let executor: MicroVmExecutor;
  let runtime: string;
  let taken = 0;

  const spec = (who: string, internet: boolean, runtimePath?: string, variables: Record<string, string> = {}): ExecutionSpec => {
    const dir = join(work, who);
    mkdirSync(dir);
    writeFileSync(join(dir, 'main.mjs'), PROGRAM);
    writeFileSync(join(dir, `secret-${who}.txt`), `only ${who} may read this`);
    return {
      id: `pool-test-${who}`,
      code: { dir, entrypoint: 'main.mjs', contentKey: `zip-pool-test-${who}` },
      volumes: [],
      variables: { WHO: who, ...variables },
      ...(runtimePath ? { runtime: { path: runtimePath } } : {}),
      resources: { vcpus: 1, memoryMib: 256 },
      internet,
    };
  };

  const vmCgroups = (): string[] => detectCgroups(VM_CGROUP_PARENT).list().filter((name) => name.startsWith(cgroupScope(stateDir)));
  /** The taps with internet access (the NAT set the firewall joins them to). */
  const internetSet = (): string => execFileSync('nft', ['list', 'set', 'inet', TABLE, 'internet'], { encoding: 'utf8' });

  before(async () => {
    const images = await guestImages();
    runtime = images.runtimes.node;
    stateDir = mkdtempSync(join(tmpdir(), 'vpol-'));
    work = mkdtempSync(join(tmpdir(), 'vpol-work-'));
    executor = await MicroVmExecutor.create({
      kernel: images.kernel, initramfs: images.initramfs, defaultRuntime: runtime, stateDir,
      network: { prefix: TAP_PREFIX }, accelerator: 'tcg', firewall: { table: TABLE },
      // Generous: a loaded machine slows TCG boots a lot (a deadline, not a timing assertion).
      boot: { stallMs: 30_000, timeoutMs: 240_000 },
      warmPools: [{ runtime, size: 1, vcpus: 1, memoryMib: 256, prestart: 'node' }],
      onPoolTaken: () => { taken += 1; },
    });
  });

  after(async () => {
    await disposeExecutor(executor, stateDir, work);
  });

  async function serve(s: ExecutionSpec, expected: { pid: number; ip: string; ifname: string }): Promise<Report> {
    const handle = await executor.start(s);
    assert.equal(executor.pools?.idle().length, 0, 'the pool VM left the pool when taken');
    assert.equal(handle.endpoint.host, expected.ip, 'the execution reports the pool VM\'s tap address');
    assert.equal(handle.network?.ipv4Ip, expected.ip);
    assert.deepEqual(qemuProcesses(stateDir), [expected.pid], 'no VM booted for the program: the pool VM serves it');
    assert.equal(internetSet().includes(`"${expected.ifname}"`), s.internet, 'internet access as the program asks');
    try {
      await handle.waitReady(240_000);
      const res = await fetch(`http://${handle.endpoint.host}:${handle.endpoint.port}/`);
      return (await res.json()) as Report;
    } finally {
      await handle.stop(10_000);
      assert.deepEqual(qemuProcesses(stateDir), [], 'the pool VM is destroyed with its program');
      assert.equal(executor.pools?.idle().length, 0, 'nothing returned to the pool');
    }
  }

  it('serves each program in a VM of its own, refills, and leaves nothing behind', async () => {
    await executor.refillPools();
    const [first] = executor.pools!.idle();
    assert.ok(first && first.vm.state === 'waiting' && first.vm.pid !== undefined && first.vm.tap);
    const firstVm = { pid: first.vm.pid, ip: first.vm.tap.guestIp, ifname: first.vm.tap.ifname };

    const a = await serve(spec('a', false), firstVm);
    assert.equal(a.who, 'a');
    assert.equal(a.hostname, 'pool-test-a', 'the pool VM took the program\'s identity');
    assert.deepEqual(a.code, ['main.mjs', 'secret-a.txt']);
    assert.deepEqual(a.tmp, ['mark-a']);
    assert.equal(a.launched, true, 'the program was imported into the Node.js started ahead');
    assert.equal(taken, 1);

    await executor.refillPools();
    const [second] = executor.pools!.idle();
    assert.ok(second && second !== first && second.vm.pid !== undefined && second.vm.tap);
    assert.notEqual(second.vm.pid, firstVm.pid, 'the refill booted a new VM');
    const secondVm = { pid: second.vm.pid, ip: second.vm.tap.guestIp, ifname: second.vm.tap.ifname };

    // With internet access (the NAT join is made at take time and removed with the VM), and
    // its runtime a copy of the pool's (as the CRN's download of it is): the same bytes match.
    const runtimeCopy = join(work, 'runtime-copy.squashfs');
    copyFileSync(runtime, runtimeCopy);
    // NODE_OPTIONS acts only when Node.js starts: this program gets a fresh one, in the pool VM still.
    const b = await serve(spec('b', true, runtimeCopy, { NODE_OPTIONS: '--no-warnings' }), secondVm);
    assert.equal(b.who, 'b');
    assert.equal(b.hostname, 'pool-test-b');
    assert.deepEqual(b.code, ['main.mjs', 'secret-b.txt'], 'none of the first program\'s code');
    assert.deepEqual(b.tmp, ['mark-b'], 'none of the first program\'s files');
    assert.notEqual(b.bootId, a.bootId, 'another guest boot: not the first program\'s VM');
    assert.equal(b.launched, false, 'a program with start-only variables gets a Node.js of its own');
    assert.equal(executor.pools?.taken, 2);

    assert.deepEqual(tapNames(TAP_PREFIX), []);
    assert.doesNotMatch(internetSet(), /elements/, 'no tap left in the NAT set');
    assert.deepEqual(vmCgroups(), []);
    assert.deepEqual(readdirSync(stateDir).filter((e) => e !== 'code-cache'), []);
  });

  it('destroys idle pool VMs on close', async () => {
    await executor.refillPools();
    assert.equal(executor.pools?.idle().length, 1);
    assert.equal(qemuProcesses(stateDir).length, 1);
    await executor.close();
    assert.equal(executor.pools?.idle().length, 0);
    assert.deepEqual(qemuProcesses(stateDir), []);
    assert.deepEqual(tapNames(TAP_PREFIX), []);
    assert.deepEqual(vmCgroups(), []);
    assert.deepEqual(readdirSync(stateDir).filter((e) => e !== 'code-cache'), []);
    await executor.refillPools();
    assert.equal(executor.pools?.idle().length, 0, 'a closed pool boots nothing');
  });
});
