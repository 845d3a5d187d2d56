import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleAgent } from '../build/agent-bundle.ts';
import type { Readable } from 'node:stream';
import { decodeLaunchRequest, encodeLaunchRequest, LAUNCHER_FLAG, LAUNCHER_READY_VARIABLE, launcherFits, launchKindOf, prestartFromCmdline } from './launcher.ts';

describe('pre-started languages (agent launcher)', () => {
  it('reads the kind from the kernel command line, and nothing else', () => {
    assert.equal(prestartFromCmdline('console=ttyS0 aleph.prestart=node panic=1\n'), 'node');
    assert.equal(prestartFromCmdline('aleph.prestart=asgi'), 'asgi');
    assert.equal(prestartFromCmdline('console=ttyS0'), undefined);
    assert.equal(prestartFromCmdline('aleph.prestart=ruby'), undefined);
    assert.equal(prestartFromCmdline('xaleph.prestart=node'), undefined);
  });

  it('hands a program only to a launcher of its own kind, without start-only variables', () => {
    assert.equal(launchKindOf({ entrypoint: 'server.js' }), 'node');
    assert.equal(launchKindOf({ entrypoint: 'src/main.mjs', interface: 'executable' }), 'node');
    assert.equal(launchKindOf({ entrypoint: 'main:app', interface: 'asgi' }), 'asgi');
    assert.equal(launchKindOf({ entrypoint: 'run.sh' }), undefined);
    assert.equal(launcherFits('node', { entrypoint: 'a.cjs', variables: { GREETING: 'hi' } }), true);
    assert.equal(launcherFits('asgi', { entrypoint: 'a.js', variables: {} }), false);
    assert.equal(launcherFits('node', { entrypoint: 'a.js', variables: { NODE_OPTIONS: '--max-old-space-size=64' } }), false);
    assert.equal(launcherFits('asgi', { entrypoint: 'main:app', interface: 'asgi', variables: { PYTHONHASHSEED: '0' } }), false);
    assert.equal(launcherFits('node', { entrypoint: 'a.js', variables: { LD_PRELOAD: '/x.so' } }), false);
  });

  it('refuses malformed requests', () => {
    const good = { target: '/opt/code/a.js', cwd: '/opt/code', env: { A: 'b' } };
    assert.deepEqual(decodeLaunchRequest(encodeLaunchRequest(good).trim()), good);
    assert.throws(() => decodeLaunchRequest('null'), /target/);
    assert.throws(() => decodeLaunchRequest(JSON.stringify({ ...good, target: '' })), /target/);
    assert.throws(() => decodeLaunchRequest(JSON.stringify({ ...good, cwd: 'relative' })), /working directory/);
    assert.throws(() => decodeLaunchRequest(JSON.stringify({ ...good, env: { A: 1 } })), /strings/);
  });

  describe('the agent bundle as a Node.js launcher', () => {
    let dir: string;
    let bundle: string;

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'launcher-'));
      bundle = join(dir, 'agent.mjs');
      await writeFile(bundle, await bundleAgent());
      await mkdir(join(dir, 'code', 'lib'), { recursive: true });
      // What a program checks of its process: its variables, directory, argv and require.main.
      const report = "JSON.stringify({ greeting: process.env.GREETING, readyFd: process.env.ALEPH_LAUNCHER_READY_FD, cwd: process.cwd(), argv1: process.argv[1]";
      await writeFile(join(dir, 'code', 'lib', 'main.cjs'), `console.log(${report}, main: require.main === module }));\n`);
      await writeFile(join(dir, 'code', 'lib', 'main.mjs'), `import { createRequire } from 'node:module';\nconsole.log(${report}, esm: typeof createRequire === 'function' }));\n`);
      await writeFile(join(dir, 'code', 'throws.js'), `throw new Error('broken program');\n`);
    });
    after(() => rm(dir, { recursive: true, force: true }));

    async function launch(entry: string, env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
      // Started from / before any program is known, as in a pool VM; it says it waits on fd 3.
      const child = spawn(process.execPath, [bundle, LAUNCHER_FLAG], { cwd: '/', stdio: ['pipe', 'pipe', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '', [LAUNCHER_READY_VARIABLE]: '3' } });
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
      const ready = await new Promise<string>((resolve) => (child.stdio[3] as Readable).once('data', (c: Buffer) => resolve(c.toString())));
      assert.equal(ready, 'ready\n', 'the launcher says it waits before it has a request');
      child.stdin!.end(encodeLaunchRequest({ target: join(dir, 'code', entry), cwd: join(dir, 'code'), env }));
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      return { code, stdout, stderr };
    }

    it('becomes a CommonJS program as `node entry` would', async () => {
      const out = await launch('lib/main.cjs', { GREETING: 'hello' });
      assert.equal(out.code, 0, out.stderr);
      assert.deepEqual(JSON.parse(out.stdout), { greeting: 'hello', cwd: join(dir, 'code'), argv1: join(dir, 'code', 'lib', 'main.cjs'), main: true });
    });

    it('becomes an ES module program', async () => {
      const out = await launch('lib/main.mjs', { GREETING: 'hi' });
      assert.equal(out.code, 0, out.stderr);
      assert.deepEqual(JSON.parse(out.stdout), { greeting: 'hi', cwd: join(dir, 'code'), argv1: join(dir, 'code', 'lib', 'main.mjs'), esm: true });
    });

    it("ends with the program's error as node would", async () => {
      const out = await launch('throws.js', {});
      assert.equal(out.code, 1);
      assert.match(out.stderr, /broken program/);
    });
  });
});
