import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { detectCgroups } from './cgroups.ts';
import { WORKLOAD_ID_BASE } from './ids.ts';
import { runJailedTool, stagingScript, TOOL_ID_OFFSET } from './tool-jail.ts';

describe('stagingScript', () => {
  it('binds each source on its own mount point, read-only ones remounted, paths only as parameters', () => {
    const script = stagingScript('/usr/bin/mount', '/usr/bin/mkdir', [
      { kind: 'dir', readOnly: true },
      { kind: 'file', readOnly: false },
    ]);
    assert.match(script, /^\/usr\/bin\/mount -t tmpfs .* "\$1" \|\| exit 125/);
    assert.match(script, /\/usr\/bin\/mkdir "\$1\/b0"/);
    assert.match(script, /\/usr\/bin\/mount --bind "\$\{2\}" "\$1\/b0"/);
    assert.match(script, /remount,bind,ro "\$1\/b0"/);
    assert.match(script, /: > "\$1\/b1"/);
    assert.doesNotMatch(script, /remount,bind,ro "\$1\/b1"/);
    assert.match(script, /shift 3\nexec "\$@"$/);
  });
});

describe('runJailedTool (real jail)', { skip: process.getuid?.() !== 0 ? 'needs root' : false }, () => {
  // Inside a root-only directory, as the CRN data directory is.
  const dir = mkdtempSync(join(tmpdir(), 'vmm-tool-jail-'));
  // The staging mount point must be reachable by the jail's uid, as /run/aleph-nodes-vmm is.
  const runDir = mkdtempSync(join(tmpdir(), 'vmm-tool-run-'));
  chmodSync(runDir, 0o755);
  after(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(runDir, { recursive: true, force: true });
  });

  it('runs as an unprivileged uid with only its input (read-only) and output, no network, in its cgroup', async () => {
    const input = join(dir, 'in');
    mkdirSync(input);
    writeFileSync(join(input, 'data.txt'), 'tenant bytes\n');
    writeFileSync(join(dir, 'secret'), 'host secret\n', { mode: 0o644 });
    const out = join(dir, 'out.txt');
    writeFileSync(out, '', { mode: 0o600 });
    const script = [
      'id -u > /out.txt',
      'cat /in/data.txt >> /out.txt',
      // What the jail must not reach or do:
      `cat ${join(dir, 'secret')} >> /out.txt 2>/dev/null && echo SECRET-READ >> /out.txt`,
      'touch /in/new 2>/dev/null && echo INPUT-WRITABLE >> /out.txt',
      'grep -c : /proc/net/dev >> /out.txt',
      'cat /proc/self/cgroup >> /out.txt',
    ].join('\n');
    const result = await runJailedTool({
      command: ['/bin/sh', '-c', script],
      inputs: [{ src: input, dest: '/in' }],
      outputs: [{ src: out, dest: '/out.txt' }],
      memoryMib: 64,
      timeoutMs: 30_000,
      runDir,
    });
    assert.equal(result.code, 0, result.output);
    const lines = readFileSync(out, 'utf8').split('\n');
    assert.ok(result.uid >= WORKLOAD_ID_BASE.microvm + TOOL_ID_OFFSET, `uid ${result.uid}`);
    assert.equal(lines[0], String(result.uid), 'the tool ran as the leased uid');
    assert.equal(lines[1], 'tenant bytes');
    assert.ok(!lines.includes('SECRET-READ'), 'a host file outside the binds was readable');
    assert.ok(!lines.includes('INPUT-WRITABLE'), 'the input was writable');
    assert.equal(lines[2], '1', 'only the loopback interface (a new empty network namespace)');
    const st = statSync(out);
    assert.equal(st.uid, 0, 'the output is given back to root');
    // The run's cgroup is gone afterwards.
    assert.deepEqual(detectCgroups('aleph-tools').list().filter((n) => n.startsWith('t')), []);
  });

  it('a tool over its memory cap is killed, not the host', async () => {
    const result = await runJailedTool({
      command: ['/usr/bin/perl', '-e', '$x = "x" x (256 * 1024 * 1024); print length($x)'],
      memoryMib: 32,
      timeoutMs: 60_000,
      runDir,
    });
    assert.notEqual(result.code, 0);
    assert.equal(result.oomKilled || result.signal === 'SIGKILL' || result.code === 137, true, JSON.stringify(result));
  });
});
