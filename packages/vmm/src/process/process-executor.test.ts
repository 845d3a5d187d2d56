/** What the process backend refuses outright (nothing is started in these tests). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExecutorError, type ExecutionSpec } from '../executor.ts';
import { ProcessExecutor } from './process-executor.ts';

describe('ProcessExecutor refusals', { skip: process.getuid?.() !== 0 ? 'needs root' : false }, () => {
  const setup = async (t: { after(fn: () => unknown): void }): Promise<{ executor: ProcessExecutor; dir: string; spec: (o?: Partial<ExecutionSpec>) => ExecutionSpec }> => {
    const dir = await mkdtemp(join(tmpdir(), 'pex-'));
    await chmod(dir, 0o755);
    const stateDir = join(dir, 'state');
    const executor = new ProcessExecutor({ stateDir, stageDir: join(dir, 'stage') });
    t.after(async () => {
      await executor.close();
      await rm(dir, { recursive: true, force: true });
    });
    await mkdir(join(dir, 'code'));
    await writeFile(join(dir, 'code', 'main.mjs'), '');
    const spec = (o: Partial<ExecutionSpec> = {}): ExecutionSpec => ({
      id: 'refused-1',
      code: { dir: join(dir, 'code'), entrypoint: 'main.mjs' },
      volumes: [],
      variables: {},
      resources: { vcpus: 1, memoryMib: 128 },
      internet: false,
      ...o,
    });
    return { executor, dir, spec };
  };
  const refused = (code: string, pattern: RegExp) => (err: unknown) => err instanceof ExecutorError && err.code === code && pattern.test(err.message);

  it('refuses a staging directory that workload uids cannot reach', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'pex-closed-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    assert.throws(() => new ProcessExecutor({ stateDir: join(dir, 'state'), stageDir: join(dir, 'stage') }), refused('UNSUPPORTED', /traversable by other users/));
  });

  it('refuses instances (a full OS needs the microvm backend)', async (t) => {
    const { executor, dir, spec } = await setup(t);
    await assert.rejects(executor.start(spec({
      instance: { rootDisk: '/nonexistent.ext4', authorizedKeys: [], hostname: 'x', portForwards: [] },
    })), refused('UNSUPPORTED', /instances/));
    assert.deepEqual((await readdir(join(dir, 'state'))).filter((e) => !e.startsWith('.')), [], 'nothing prepared');
  });

  it('refuses mount points outside the allowed prefixes, overlapping ones, and bad entrypoints', async (t) => {
    const { executor, dir, spec } = await setup(t);
    for (const mount of ['/usr/bin', '/etc', '/', '/tmp/x', '/opt/code/x']) {
      await assert.rejects(executor.start(spec({ volumes: [{ kind: 'ephemeral', sizeMib: 1, mount }] })), refused('INVALID_SPEC', /mount/), mount);
    }
    await assert.rejects(executor.start(spec({ volumes: [
      { kind: 'ephemeral', sizeMib: 1, mount: '/mnt/a' },
      { kind: 'ephemeral', sizeMib: 1, mount: '/mnt/a/b' },
    ] })), refused('INVALID_SPEC', /overlap/));
    await assert.rejects(executor.start(spec({ variables: { A: 'x\0y' } })), refused('INVALID_SPEC', /NUL/));
    for (const entrypoint of ['../main.mjs', '/etc/passwd', 'a//b', '']) {
      await assert.rejects(executor.start(spec({ code: { dir: join(dir, 'code'), entrypoint } })), refused('INVALID_SPEC', /entrypoint/), entrypoint);
    }
  });

  it('refuses an entrypoint or a volume image that is a symbolic link (root would act on its target)', async (t) => {
    const { executor, dir, spec } = await setup(t);
    await symlink('/etc/shadow', join(dir, 'code', 'run.sh'));
    await assert.rejects(executor.start(spec({ code: { dir: join(dir, 'code'), entrypoint: 'run.sh' } })), refused('START_FAILED', /not a file/));
    const volume = join(dir, 'volume');
    await mkdir(volume);
    await symlink('/etc/shadow', join(volume, 'volume.ext4'));
    await assert.rejects(executor.start(spec({ volumes: [{ kind: 'persistent', source: volume, sizeMib: 8, mount: '/var/lib/x' }] })), refused('START_FAILED', /not a regular file/));
    assert.deepEqual(executor.hostResources(), { netns: [], cgroups: [], leases: [] });
  });
});
