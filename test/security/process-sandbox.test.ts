/**
 * Hole 2: the process backend mounted volumes with PATH lookups (`mkdir`, `mount`) inside the
 * workload's mount tree, so a volume mounted at /usr/bin holding a `mount` script ran attacker
 * code as host root with every capability. Hole 8 (host part): a workload shared the host's IPC
 * namespace (SysV shared memory) and saw the host's filesystem, the PostgreSQL socket included.
 *
 * The attacks, end to end against the real executor:
 * - the /usr/bin volume is refused by the spec validator (every backend);
 * - volumes at allowed places carry fake `mount`, `mkdir`, `sh`, `chown`, `stat`, `unshare`,
 *   `nsenter`, `setpriv`, `bwrap` and `env` tools, and the tenant's PATH points at them: none
 *   runs as root (each would drop a marker file on the host);
 * - inside: no capability, a host uid of its own (two workloads, two uids), none of the host's
 *   files, no mount or namespace creation (seccomp), no view of the host's SysV shared memory,
 *   no PostgreSQL socket.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ExecutorError, type ExecutionHandle } from '@aleph-nodes/vmm';
import { snapshot, type Snapshot } from './helpers/sandbox-resources.ts';
import { createRig, type SandboxRig } from './helpers/sandbox-rig.ts';

const FAKE_TOOLS = ['mount', 'mkdir', 'sh', 'chown', 'stat', 'unshare', 'nsenter', 'setpriv', 'bwrap', 'env', 'ip', 'node'];

/** Host pids whose environment carries PROBE_TAG=<tag>, with their real and effective uids. */
function hostUidsOf(tag: string): { pid: number; uids: number[] }[] {
  const out: { pid: number; uids: number[] }[] = [];
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      if (!readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`PROBE_TAG=${tag}`)) continue;
      const uidLine = /^Uid:\s*(.*)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '';
      out.push({ pid: Number(pid), uids: uidLine.split(/\s+/).map(Number) });
    } catch {
      // gone, or a kernel thread
    }
  }
  return out;
}

describe('process sandbox (hole 2, hole 8 host part)', { skip: process.getuid?.() !== 0 ? 'needs root' : false }, () => {
  let rig: SandboxRig;
  let before0: Snapshot;
  let markers: string;
  let toolsDir: string;
  let stateDir: string;
  const handles: ExecutionHandle[] = [];
  const owned = (): Parameters<typeof snapshot>[0] => ({ names: [rig.scope], dirs: [rig.root] });

  before(() => {
    rig = createRig('sandbox');
    before0 = snapshot(owned());
    markers = join(rig.root, 'markers');
    mkdirSync(markers, { mode: 0o777 });
    chmodSync(markers, 0o777);
    toolsDir = join(rig.root, 'tools');
    stateDir = join(rig.root, 'volume');
    mkdirSync(toolsDir, { mode: 0o755 });
    mkdirSync(stateDir, { mode: 0o755 });
    // Each fake tool records who ran it, where the host can see it, then behaves like a no-op.
    for (const tool of FAKE_TOOLS) {
      writeFileSync(join(toolsDir, tool), `#!/bin/sh\necho "$(id -u) ${tool}" > ${markers}/${tool}\nexit 0\n`, { mode: 0o755 });
    }
  });

  after(async () => {
    for (const h of handles) await h.stop(2000).catch(() => undefined);
    await rig.executor.close();
    rmSync(rig.root, { recursive: true, force: true });
    assert.deepEqual(snapshot(owned()), { ...before0, dirs: [] });
  });

  it('refuses a volume over /usr/bin (and /etc, /proc, /) before anything runs', async () => {
    for (const mount of ['/usr/bin', '/etc', '/proc/self', '/', '/opt/code', '/mnt/../usr/bin']) {
      await assert.rejects(
        rig.executor.start(rig.spec({ volumes: [{ kind: 'immutable', source: toolsDir, mount }] })),
        (err: unknown) => err instanceof ExecutorError && err.code === 'INVALID_SPEC',
        mount,
      );
    }
    assert.deepEqual(readdirSync(markers), [], 'no fake tool ran');
    assert.deepEqual(rig.executor.hostResources(), { netns: [], cgroups: [], leases: [] }, 'nothing was prepared');
  });

  it('runs no tenant tool as root, and the workload holds no capability, its own uid, none of the host', async () => {
    const shm = /Shared memory id: (\d+)/.exec(execFileSync('/usr/bin/ipcmk', ['-M', '4096'], { encoding: 'utf8' }))?.[1];
    assert.ok(shm, 'a host SysV segment');
    try {
      const start = async (tag: string): Promise<ExecutionHandle> => {
        const handle = await rig.executor.start(rig.spec({
          volumes: [
            { kind: 'immutable', source: toolsDir, mount: '/opt/tools' },
            { kind: 'immutable', source: toolsDir, mount: '/srv/bin' },
            { kind: 'persistent', source: join(stateDir, tag), sizeMib: 16, mount: '/var/lib/tenant' },
            { kind: 'ephemeral', sizeMib: 8, mount: '/mnt/scratch' },
          ],
          variables: { PATH: '/opt/tools:/srv/bin:/usr/bin:/bin', PROBE_TAG: tag },
        }));
        handles.push(handle);
        await handle.waitReady(30_000);
        return handle;
      };
      mkdirSync(join(stateDir, 'a'), { mode: 0o755 });
      mkdirSync(join(stateDir, 'b'), { mode: 0o755 });
      const a = await start('a');
      const b = await start('b');

      assert.deepEqual(readdirSync(markers), [], 'no tool of the tenant ran while the sandbox was built');

      const status = await rig.probe<{ uid: number; capEff: string; capBnd: string; seccomp: string; noNewPrivs: string }>(a, '/status');
      assert.equal(status.capEff, '0000000000000000');
      assert.equal(status.capBnd, '0000000000000000');
      assert.equal(status.noNewPrivs, '1');
      assert.equal(status.seccomp, '2', 'a seccomp filter is loaded');

      // The host sees each workload as its own unprivileged uid.
      const uidsA = hostUidsOf('a');
      const uidsB = hostUidsOf('b');
      assert.ok(uidsA.length > 0 && uidsB.length > 0);
      const uidA = uidsA[0]?.uids[0] as number;
      const uidB = uidsB[0]?.uids[0] as number;
      for (const p of [...uidsA, ...uidsB]) assert.ok(p.uids.every((u) => u >= 1_800_000_000 && u < 1_900_000_000), JSON.stringify(p));
      assert.ok(uidsA.every((p) => p.uids.every((u) => u === uidA)) && uidsB.every((p) => p.uids.every((u) => u === uidB)));
      assert.notEqual(uidA, uidB, 'two workloads never share a host uid');
      assert.equal(status.uid, uidA);

      const hostPaths = ['/root', '/home', '/etc/shadow', '/var/lib/postgresql', '/run/postgresql', '/var/run/postgresql', '/run/postgresql/.s.PGSQL.5432', rig.root, '/work', '/sys/fs/cgroup', '/boot', '/run/netns'];
      const seen = await rig.probe<Record<string, boolean>>(a, `/exists?${hostPaths.map((p) => `path=${encodeURIComponent(p)}`).join('&')}`);
      for (const p of hostPaths) assert.equal(seen[p], false, `${p} must not be visible`);
      const passwd = await rig.probe<{ text: string }>(a, `/read?path=${encodeURIComponent('/etc/passwd')}`);
      assert.match(passwd.text, new RegExp(`^workload:x:${uidA}:`, 'm'));
      assert.doesNotMatch(passwd.text, /postgres|www-data|sshd/);

      // Namespaces and mounts: refused by the filter (EPERM), whatever the tool.
      const unshareUser = await rig.probe<{ status: number; stderr: string }>(a, `/run?file=/usr/bin/unshare&arg=--user&arg=--map-root-user&arg=/bin/true`);
      assert.notEqual(unshareUser.status, 0);
      assert.match(unshareUser.stderr, /Operation not permitted/);
      const unshareMount = await rig.probe<{ status: number; stderr: string }>(a, `/run?file=/usr/bin/unshare&arg=--mount&arg=/bin/true`);
      assert.match(unshareMount.stderr, /Operation not permitted/);
      const mount = await rig.probe<{ status: number; stdout?: string }>(a, `/run?file=/usr/bin/python3&arg=-c&arg=${encodeURIComponent("import ctypes; libc = ctypes.CDLL(None, use_errno=True); print(libc.mount(b'none', b'/tmp', b'tmpfs', 0, None), ctypes.get_errno())")}`);
      if (existsSync('/usr/bin/python3')) assert.equal(mount.stdout?.trim(), '-1 1', 'mount(2) fails with EPERM');

      // The host's SysV segment exists on the host, not in the workload's IPC namespace.
      assert.match(readFileSync('/proc/sysvipc/shm', 'utf8'), new RegExp(`^\\s*-?\\d+\\s+${shm}\\s`, 'm'));
      const ipc = await rig.probe<{ text: string }>(a, `/read?path=${encodeURIComponent('/proc/sysvipc/shm')}`);
      assert.doesNotMatch(ipc.text, new RegExp(`^\\s*-?\\d+\\s+${shm}\\s`, 'm'));
      assert.equal(ipc.text.trim().split('\n').length, 1, 'only the header line');

      // The tenant's tools are still there for the tenant (running as its own uid, in the jail).
      const own = await rig.probe<{ status: number }>(a, `/run?file=/opt/tools/mount`);
      assert.equal(own.status, 0);
      assert.equal(readdirSync(markers).length, 0, 'its marker cannot be written: the host directory is not in the jail');

      await a.stop();
      await b.stop();
    } finally {
      execFileSync('/usr/bin/ipcrm', ['-m', shm]);
    }
    assert.deepEqual(readdirSync(markers), [], 'no tool of the tenant ran on the host while the sandbox was torn down');
    assert.equal(existsSync('/opt/tools'), false, 'no mount point was created on the host');
    assert.equal(existsSync('/var/lib/tenant'), false, 'no mount point was created on the host');
  });
});
