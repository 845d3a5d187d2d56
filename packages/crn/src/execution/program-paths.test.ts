import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HttpError } from '@aleph-nodes/service';
import { checkProgramPaths, checkVolumes } from './program-paths.ts';

const H = 'ab'.repeat(32);
const program = (code: Record<string, unknown>, volumes: unknown[] = [], extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  code: { encoding: 'zip', ref: H, ...code },
  volumes,
  ...extra,
});

function refused(content: unknown, pattern: RegExp): void {
  assert.throws(
    () => checkProgramPaths(content),
    (err: unknown) => err instanceof HttpError && err.code === 'UNSAFE_PATH' && err.status === 400 && pattern.test(err.message),
  );
}

describe('program paths', () => {
  it('accepts the shapes real programs use', () => {
    assert.equal(checkProgramPaths(program({ entrypoint: 'main.mjs' })).entrypoint, 'main.mjs');
    assert.equal(checkProgramPaths(program({ entrypoint: 'main:app' })).entrypoint, 'main:app');
    assert.equal(checkProgramPaths(program({ entrypoint: 'src/run.sh', interface: 'binary' })).entrypoint, 'src/run.sh');
    const { volumes } = checkProgramPaths(
      program({ entrypoint: 'main.py' }, [
        { ref: H, mount: '/opt/packages' },
        { ephemeral: true, size_mib: 1 },
        { name: 'data', size_mib: 10, persistence: 'host', mount: '/var/lib/example' },
        { name: '', size_mib: 10, mount: '' },
      ]),
    );
    assert.deepEqual(volumes, [
      { mount: '/opt/packages' },
      { mount: '/mnt/ephemeral1' },
      { mount: '/var/lib/example', dirName: 'data' },
      { mount: '/mnt/unamed_volume_3', dirName: 'unamed_volume_3' },
    ]);
  });

  it('refuses entrypoints that leave the code directory, before anything else', () => {
    refused(program({ entrypoint: '../../../../tmp/x/evil.sh' }), /'\.' or '\.\.'/);
    refused(program({ entrypoint: '/tmp/x/evil.sh' }), /relative/);
    refused(program({ entrypoint: 'a//b' }), /empty segment/);
    refused(program({ entrypoint: '../x:app', interface: 'asgi' }), /module:attribute/);
    refused(program({ entrypoint: 'x:app', interface: 'binary' }), /character/);
    refused(program({ entrypoint: 42 }), /string/);
    refused({ volumes: [] }, /no code/);
    refused('not an object', /not an object/);
  });

  it('refuses mount points over system directories, duplicates and shared volume directories', () => {
    refused(program({ entrypoint: 'm.js' }, [{ ref: H, mount: '/usr/bin' }]), /must be below/);
    refused(program({ entrypoint: 'm.js' }, [{ ref: H, mount: '/mnt/../usr/bin' }]), /'\.' or '\.\.'/);
    refused(program({ entrypoint: 'm.js' }, [{ ref: H, mount: '/opt/code' }]), /reserved/);
    refused(program({ entrypoint: 'm.js' }, [{ ref: H, mount: '/mnt/a' }, { ephemeral: true, size_mib: 1, mount: '/mnt/a' }]), /used twice/);
    refused(program({ entrypoint: 'm.js' }, [{ ref: H, mount: '/data' }], { data: { encoding: 'zip', ref: H, mount: '/data' } }), /used twice/);
    refused(program({ entrypoint: 'm.js' }, [{ name: 'a.b', size_mib: 1, mount: '/mnt/x' }, { name: 'a_b', size_mib: 1, mount: '/mnt/y' }]), /share the directory/);
    refused(program({ entrypoint: 'm.js' }, [null]), /not an object/);
    refused(program({ entrypoint: 'm.js' }, {} as unknown as unknown[]), /list/);
  });

  it('names persistent volume directories by the reference rules (one safe segment)', () => {
    const [v] = checkVolumes([{ name: '../../etc', size_mib: 1, mount: '/mnt/v' }]);
    assert.equal(v?.dirName, '______etc');
  });
});
