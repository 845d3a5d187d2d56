/**
 * The executor conformance suite, unchanged, on the microVM backend (QEMU TCG on the build
 * machines). Boots one VM at a time; leftovers are taps, QEMU processes and state entries.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runExecutorConformance } from '@aleph-nodes/vmm/testing';
import { MicroVmExecutor } from '../../packages/vmm/src/microvm/index.ts';
import { dirEntries, guestImages, qemuProcesses, tapNames } from './helpers.ts';

const TAP_PREFIX = 'ctap';

runExecutorConformance('microvm', async () => {
  const images = await guestImages();
  const stateDir = mkdtempSync(join(tmpdir(), 'cvm-'));
  const executor = await MicroVmExecutor.create({
    kernel: images.kernel,
    initramfs: images.initramfs,
    defaultRuntime: images.runtimes.node,
    stateDir,
    network: { prefix: TAP_PREFIX },
    firewall: { table: 'aleph_test_conformance' },
    // The accelerator probe has its own test (microvm.test.ts); here it would only cost time.
    accelerator: 'tcg',
    // Boot attempts and watchdog kills, so a run shows how reliable the boots were.
    onEvent: (line) => process.stderr.write(`# ${line}\n`),
  });
  return {
    executor,
    runtime: { path: images.runtimes.node },
    leftovers: () => ({
      taps: tapNames(TAP_PREFIX),
      qemu: qemuProcesses(stateDir).length,
      state: dirEntries(stateDir).filter((e) => e !== 'tap-leases'),
      leases: dirEntries(join(stateDir, 'tap-leases')),
    }),
    async close() {
      await executor.cleanupOrphans(new Set());
      await executor.close();
      await executor.firewall?.remove();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
});
