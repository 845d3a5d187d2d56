import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jailCommand } from './jail.ts';

const TOOLS = { setpriv: '/usr/bin/setpriv', bwrap: '/usr/bin/bwrap' };

describe('jailCommand', () => {
  it('drops to the unprivileged uid before bwrap, and bwrap builds its own root', () => {
    const cmd = jailCommand(
      {
        uid: 200001,
        gid: 200001,
        roBinds: [{ src: '/usr', dest: '/usr' }],
        symlinks: [{ target: 'usr/bin', dest: '/bin' }],
        tmpfs: [{ dest: '/tmp', sizeMib: 64 }],
        binds: [{ src: '/var/lib/crn/volumes/x', dest: '/var/lib/example' }],
        proc: true,
        dev: true,
        env: { PATH: '/usr/bin:/bin', FOO: 'bar baz' },
        chdir: '/opt/code',
        seccompFd: 3,
        readOnlyRoot: true,
        disableUserns: true,
        command: ['/usr/bin/node', '/opt/code/index.js'],
      },
      TOOLS,
    );
    assert.equal(cmd.file, '/usr/bin/setpriv');
    assert.deepEqual(cmd.args.slice(0, 6), ['--reuid=200001', '--regid=200001', '--clear-groups', '--no-new-privs', '--', '/usr/bin/bwrap']);
    const bw = cmd.args.slice(6);
    for (const flag of ['--unshare-user', '--unshare-ipc', '--unshare-pid', '--unshare-uts', '--die-with-parent', '--new-session', '--clearenv']) assert.ok(bw.includes(flag), flag);
    assert.ok(!bw.includes('--unshare-net'), 'the joined network namespace is kept');
    assert.deepEqual(bw.slice(bw.indexOf('--cap-drop'), bw.indexOf('--cap-drop') + 2), ['--cap-drop', 'ALL']);
    assert.deepEqual(bw.slice(bw.indexOf('--size') - 2, bw.indexOf('--size') + 4), ['--perms', '1777', '--size', String(64 * 1048576), '--tmpfs', '/tmp']);
    assert.deepEqual(bw.slice(-3), ['--', '/usr/bin/node', '/opt/code/index.js']);
    assert.ok(bw.indexOf('--bind') > bw.indexOf('--tmpfs'), 'volumes are bound after the scratch mounts');
    assert.deepEqual(bw.slice(bw.indexOf('--seccomp'), bw.indexOf('--seccomp') + 2), ['--seccomp', '3']);
    assert.ok(bw.includes('--disable-userns'));
    const detached = jailCommand({ uid: 200001, gid: 200001, dieWithParent: false, command: ['/bin/true'] }, TOOLS);
    assert.ok(!detached.args.includes('--die-with-parent'), 'a detached workload outlives its supervisor');
    assert.ok(bw.indexOf('--remount-ro') > bw.lastIndexOf('--bind'), 'the root turns read-only after every mount');
  });

  it('refuses root, relative mount points and bad environment names', () => {
    assert.throws(() => jailCommand({ uid: 0, gid: 0, command: ['/bin/true'] }, TOOLS), /unprivileged/);
    assert.throws(() => jailCommand({ uid: 1000, gid: 1000, binds: [{ src: '/x', dest: 'rel' }], command: ['/bin/true'] }, TOOLS), /absolute/);
    assert.throws(() => jailCommand({ uid: 1000, gid: 1000, binds: [{ src: '/x', dest: '/a/../b' }], command: ['/bin/true'] }, TOOLS), /absolute/);
    assert.throws(() => jailCommand({ uid: 1000, gid: 1000, env: { 'A=B': 'x' }, command: ['/bin/true'] }, TOOLS), /environment/);
    assert.throws(() => jailCommand({ uid: 1000, gid: 1000, command: [] }, TOOLS), /empty/);
  });
});
