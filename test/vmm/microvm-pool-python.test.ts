/**
 * A warm pool on the Python runtime, with real QEMU (TCG): the pool VM starts Python with the
 * ASGI server and FastAPI imported while it waits (guest launcher.ts, `asgi_serve.py --wait`);
 * a never-seen FastAPI program (`main:app`) is imported into that process, sees its own
 * variables, and answers through the pool VM's tap. Nothing is left behind.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { detectCgroups } from '../../packages/vmm/src/host/cgroups.ts';
import { MicroVmExecutor } from '../../packages/vmm/src/microvm/microvm-executor.ts';
import { cgroupScope, VM_CGROUP_PARENT } from '../../packages/vmm/src/microvm/vm-jail.ts';
import { guestImages, qemuProcesses, tapNames, disposeExecutor } from '../guest/helpers.ts';

const TAP_PREFIX = `vppy${process.pid % 1000}`;
const TABLE = `aleph_test_pypool_${process.pid}`;

/** Reports its variables and whether it runs in the Python the pool VM started ahead. */
const MAIN_PY = `
import os
from fastapi import FastAPI

app = FastAPI()

@app.get("/")
def report():
    with open("/proc/self/cmdline", "rb") as f:
        argv = f.read().split(b"\\0")
    return {"who": os.environ.get("WHO"), "cwd": os.getcwd(), "launched": b"--wait" in argv}
`;

describe('microVM warm pool on the Python runtime: an ASGI program imported into the waiting Python', { skip: process.getuid?.() !== 0 ? 'needs root' : false, timeout: 900_000 }, () => {
  let stateDir: string;
  let work: string;
  let executor: MicroVmExecutor;
  let runtime: string;

  before(async () => {
    const images = await guestImages();
    assert.ok(images.runtimes.python, 'the guest image build makes the Python runtime');
    runtime = images.runtimes.python;
    stateDir = mkdtempSync(join(tmpdir(), 'vppy-'));
    work = mkdtempSync(join(tmpdir(), 'vppy-work-'));
    executor = await MicroVmExecutor.create({
      kernel: images.kernel, initramfs: images.initramfs, defaultRuntime: images.runtimes.node, stateDir,
      network: { prefix: TAP_PREFIX }, accelerator: 'tcg', firewall: { table: TABLE },
      boot: { stallMs: 30_000, timeoutMs: 240_000 },
      warmPools: [{ runtime, size: 1, vcpus: 1, memoryMib: 256, prestart: 'asgi' }],
    });
  });

  after(async () => {
    await disposeExecutor(executor, stateDir, work);
  });

  it('serves a FastAPI program from the pool VM, in the Python started ahead', async () => {
    await executor.refillPools();
    const [pooled] = executor.pools!.idle();
    assert.ok(pooled?.vm.pid !== undefined && pooled.vm.tap);
    const dir = join(work, 'app');
    mkdirSync(dir);
    writeFileSync(join(dir, 'main.py'), MAIN_PY);
    const handle = await executor.start({
      id: 'pypool-test',
      code: { dir, entrypoint: 'main:app', interface: 'asgi', contentKey: 'zip-pypool-test' },
      volumes: [],
      variables: { WHO: 'python program' },
      runtime: { path: runtime },
      resources: { vcpus: 1, memoryMib: 256 },
      internet: false,
    });
    try {
      assert.deepEqual(qemuProcesses(stateDir), [pooled.vm.pid], 'no VM booted for the program: the pool VM serves it');
      await handle.waitReady(240_000);
      const res = await fetch(`http://${handle.endpoint.host}:${handle.endpoint.port}/`);
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { who: 'python program', cwd: '/opt/code', launched: true });
    } finally {
      await handle.stop(10_000);
    }
    await executor.close();
    assert.deepEqual(qemuProcesses(stateDir), []);
    assert.deepEqual(tapNames(TAP_PREFIX), []);
    assert.deepEqual(detectCgroups(VM_CGROUP_PARENT).list().filter((name) => name.startsWith(cgroupScope(stateDir))), []);
    assert.deepEqual(readdirSync(stateDir).filter((e) => e !== 'code-cache'), []);
  });
});
