// The process backend against the executor conformance suite (needs root, cgroups, iproute2).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcessExecutor } from '@aleph-nodes/vmm';
import { runExecutorConformance } from '@aleph-nodes/vmm/testing';

runExecutorConformance('process', async () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'vmm-process-'));
  const executor = new ProcessExecutor({ stateDir });
  return {
    executor,
    leftovers: () => executor.hostResources(),
    close: async () => {
      await executor.close();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
});
