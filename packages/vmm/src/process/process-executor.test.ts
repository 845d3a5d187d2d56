/** What the process backend refuses outright (nothing is started in these tests). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExecutorError } from '../executor.ts';
import { ProcessExecutor } from './process-executor.ts';

describe('ProcessExecutor refusals', { skip: process.getuid?.() !== 0 ? 'needs root' : false }, () => {
  it('refuses instances (a full OS needs the microvm backend)', async (t) => {
    const stateDir = await mkdtemp(join(tmpdir(), 'pex-'));
    t.after(() => rm(stateDir, { recursive: true, force: true }));
    const executor = new ProcessExecutor({ stateDir });
    t.after(() => executor.close());
    await assert.rejects(executor.start({
      id: 'inst-1',
      instance: { rootDisk: '/nonexistent.ext4', authorizedKeys: [], hostname: 'x', portForwards: [] },
      code: { dir: stateDir, entrypoint: 'placeholder' },
      volumes: [],
      variables: {},
      resources: { vcpus: 1, memoryMib: 128 },
      internet: false,
    }), (err: unknown) => err instanceof ExecutorError && err.code === 'UNSUPPORTED' && /instances/.test(err.message));
    assert.deepEqual((await readdir(stateDir)).filter((e) => !e.startsWith('.')), [], 'nothing prepared');
  });
});
