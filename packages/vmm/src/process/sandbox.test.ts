import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ExecutionSpec } from '../executor.ts';
import { jailCommand } from '../host/jail.ts';
import type { HostTools } from '../host/tools.ts';
import { CODE_MOUNT, etcFiles, workloadCommand, workloadJail, type HostLayout } from './jail-spec.ts';
import { sandboxScript, stagedSources } from './sandbox-script.ts';

const TOOLS: HostTools = {
  sh: '/usr/bin/sh',
  ip: '/usr/sbin/ip',
  nsenter: '/usr/bin/nsenter',
  unshare: '/usr/bin/unshare',
  setpriv: '/usr/bin/setpriv',
  bwrap: '/usr/bin/bwrap',
  mount: '/usr/bin/mount',
  mkdir: '/usr/bin/mkdir',
  chown: '/usr/bin/chown',
  stat: '/usr/bin/stat',
};
const MERGED: HostLayout = {
  mergedUsr: [{ dest: '/bin', target: 'usr/bin' }, { dest: '/lib', target: 'usr/lib' }, { dest: '/lib64', target: 'usr/lib64' }, { dest: '/sbin', target: 'usr/sbin' }],
  unmerged: [],
  nodePrefix: undefined,
  etcDirs: ['/etc/ssl/certs', '/etc/alternatives'],
};
const STAGE = '/run/aleph-nodes-vmm/stage';
const UID = 1_800_000_042;

const spec: ExecutionSpec = {
  id: 'exec-1',
  code: { dir: '/var/lib/crn/code/abc', entrypoint: 'main.mjs' },
  volumes: [
    { kind: 'immutable', source: '/var/lib/crn/cache/zip-1', mount: '/opt/lib' },
    { kind: 'ephemeral', sizeMib: 32, mount: '/mnt/scratch' },
    { kind: 'persistent', source: '/var/lib/crn/volumes/exec-1/data', sizeMib: 64, mount: '/var/lib/data' },
  ],
  variables: { TENANT: 'x' },
  resources: { vcpus: 1, memoryMib: 128 },
  internet: false,
};

const jail = workloadJail({ spec, uid: UID, gid: UID, staged: stagedSources(STAGE, spec.volumes), environment: spec.variables, tmpSizeMib: 64, seccompFd: 3, host: MERGED });

describe('process workload jail (minimal root)', () => {
  it('binds /usr and the code read-only, never the host root', () => {
    const ro = jail.roBinds ?? [];
    assert.ok(ro.some((b) => b.src === '/usr' && b.dest === '/usr'));
    assert.ok(ro.some((b) => b.src === `${STAGE}/code` && b.dest === CODE_MOUNT));
    assert.ok(![...ro, ...(jail.binds ?? [])].some((b) => b.src === '/' || b.dest === '/' || b.src === '/etc' || b.dest === '/etc'));
    assert.deepEqual(jail.symlinks, MERGED.mergedUsr.map((l) => ({ target: l.target, dest: l.dest })));
    assert.equal(jail.readOnlyRoot, true);
    assert.equal(jail.disableUserns, true);
    assert.equal(jail.proc, true);
    assert.equal(jail.dev, true);
  });

  it('generates /etc and binds only the certificate and alternatives directories of the host', () => {
    const ro = jail.roBinds ?? [];
    for (const f of ['passwd', 'group', 'hosts', 'resolv.conf', 'nsswitch.conf']) assert.ok(ro.some((b) => b.src === `${STAGE}/etc/${f}` && b.dest === `/etc/${f}`), f);
    assert.deepEqual(ro.filter((b) => b.dest.startsWith('/etc/') && !b.src.startsWith(STAGE)).map((b) => b.dest), ['/etc/ssl/certs', '/etc/alternatives']);
    const files = etcFiles({ uid: UID, gid: UID, hostname: 'exec-1', dnsServers: ['9.9.9.9', '1.1.1.1'] });
    assert.match(files.passwd, new RegExp(`^workload:x:${UID}:${UID}:`, 'm'));
    assert.equal(files['resolv.conf'].split('\n').filter((l) => l.startsWith('nameserver')).length, 2);
    assert.match(files.hosts, /127\.0\.1\.1 exec-1/);
  });

  it('maps each volume kind: immutable read-only, ephemeral a sized tmpfs, persistent read-write from its image', () => {
    assert.ok((jail.roBinds ?? []).some((b) => b.src === `${STAGE}/v0` && b.dest === '/opt/lib'));
    assert.ok((jail.tmpfs ?? []).some((t) => t.dest === '/mnt/scratch' && t.sizeMib === 32));
    assert.deepEqual(jail.binds, [{ src: `${STAGE}/v2`, dest: '/var/lib/data' }]);
    for (const dest of ['/tmp', '/var/tmp', '/dev/shm']) assert.ok((jail.tmpfs ?? []).some((t) => t.dest === dest), dest);
  });

  it("runs as the workload's uid with only its environment and the seccomp filter", () => {
    assert.equal(jail.uid, UID);
    assert.equal(jail.env?.TENANT, 'x');
    assert.equal(jail.env?.HOME, '/tmp');
    assert.equal(jail.seccompFd, 3);
    assert.deepEqual(jail.command, workloadCommand('main.mjs'));
    assert.deepEqual(workloadCommand('run.sh'), [`${CODE_MOUNT}/run.sh`]);
  });

  it("binds Node.js's prefix when it lives outside /usr, and a non-merged host's directories", () => {
    const other = workloadJail({ spec: { ...spec, volumes: [] }, uid: UID, gid: UID, staged: stagedSources(STAGE, []), environment: {}, tmpSizeMib: 64, host: { ...MERGED, mergedUsr: [], unmerged: ['/bin', '/lib'], nodePrefix: '/opt/node-v20' } });
    assert.ok((other.roBinds ?? []).some((b) => b.src === '/opt/node-v20'));
    assert.ok((other.roBinds ?? []).some((b) => b.src === '/bin' && b.dest === '/bin'));
    assert.match(other.env?.PATH ?? '', /^\/opt\/node-v20\/bin:/);
  });
});

describe('process workload root stage script', () => {
  const command = jailCommand(jail, TOOLS);
  const script = sandboxScript({
    tools: TOOLS,
    scriptPath: '/var/lib/crn/executions/exec-1/sandbox.sh',
    netns: 'alv-ab12-deadbeef',
    cgroupProcsFiles: ['/sys/fs/cgroup/aleph-vmm/ab12-exec-1/cgroup.procs'],
    stageDir: STAGE,
    codeDir: spec.code.dir,
    etcDir: '/var/lib/crn/executions/exec-1/etc',
    volumes: spec.volumes,
    images: [undefined, undefined, '/var/lib/crn/volumes/exec-1/data/volume.ext4'],
    uid: UID,
    gid: UID,
    seccompFile: '/var/lib/crn/executions/exec-1/seccomp.bpf',
    jail: command,
  });
  const lines = script.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));

  it('runs every program by absolute path; only shell builtins otherwise', () => {
    const builtins = new Set(['set', 'if', 'fi', 'echo', 'exec', '[']);
    for (const line of lines) {
      const first = line.split(' ')[0] as string;
      if (builtins.has(first)) continue;
      assert.match(first, /^'\//, `a program by absolute path: ${line}`);
    }
    const execs = lines.filter((l) => l.startsWith('exec '));
    assert.equal(execs.length, 2);
    for (const e of execs) assert.match(e, /^exec '\//);
    // The `if` line runs stat and chown, both absolute.
    assert.ok(lines.some((l) => l.startsWith(`if [ "$('/usr/bin/stat' -c %u:%g '${STAGE}/v2')" != '${UID}:${UID}' ]; then '/usr/bin/chown' -R -P`)));
  });

  it('joins the cgroup first, then the network namespace and a private mount namespace', () => {
    const outer = lines.slice(lines.indexOf('if [ "$1" = outer ]; then'));
    assert.equal(outer[1], "echo $$ > '/sys/fs/cgroup/aleph-vmm/ab12-exec-1/cgroup.procs'");
    assert.match(outer[2] ?? '', /^exec '\/usr\/bin\/nsenter' --net='\/run\/netns\/alv-ab12-deadbeef' -- '\/usr\/bin\/unshare' --mount --propagation slave -- '\/usr\/bin\/sh' '[^']+sandbox\.sh' stage$/);
  });

  it('mounts only below the staging directory, and the tenant image nosuid,nodev', () => {
    const mounts = lines.filter((l) => l.startsWith("'/usr/bin/mount'"));
    for (const m of mounts) assert.ok(m.endsWith(`'${STAGE}'`) || m.includes(`'${STAGE}/`), m);
    for (const m of mounts) assert.ok(!/'\/usr\/bin'|'\/mnt\/|'\/var\/lib\/data'/.test(m.split(' ').slice(-1)[0] as string), m);
    assert.ok(lines.includes(`'/usr/bin/mount' -t ext4 -o loop,nosuid,nodev,noatime '/var/lib/crn/volumes/exec-1/data/volume.ext4' '${STAGE}/v2'`));
    assert.ok(lines.includes(`'/usr/bin/mount' -o remount,bind,ro,nosuid,nodev '${STAGE}/code'`));
    assert.ok(lines.includes(`'/usr/bin/mount' -o remount,bind,ro,nosuid,nodev '${STAGE}/v0'`));
  });

  it('ends in setpriv → bwrap with the filter on descriptor 3', () => {
    const last = lines[lines.length - 1] as string;
    assert.match(last, /^exec '\/usr\/bin\/setpriv' '--reuid=1800000042' '--regid=1800000042' '--clear-groups' '--no-new-privs' '--' '\/usr\/bin\/bwrap' /);
    assert.match(last, /'--seccomp' '3'/);
    assert.ok(last.endsWith(" 3< '/var/lib/crn/executions/exec-1/seccomp.bpf'"));
  });
});
