/**
 * scripts/setup-debian.sh on a production host: run for real with its system commands replaced by
 * stubs that record their arguments (apt, PostgreSQL's su/psql, npm, node), so that what each
 * role would do is seen without changing this machine. Production roles install no test database
 * with a known password and no npm dev dependencies; the CCN role makes its own database with a
 * random password, in a URL file only root can read. The default role stays `dev` (what CI's
 * `.ci/run` runs), which creates the test database.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { run } from '../helpers/process.ts';

const dir = mkdtempSync(join(tmpdir(), 'setup-roles-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const log = join(dir, 'calls.log');
const stubs = join(dir, 'bin');

// Each stub appends "name args" to the log. `id -u` says root, `node -p` says Node 20, dpkg-query
// says every package is installed, psql lookups find nothing (so creations are attempted).
const STUBS: Record<string, string> = {
  id: 'echo 0',
  node: 'if [ "$1" = -p ]; then echo 20; else echo "node $*" >> "$CALLS"; fi',
  'dpkg-query': "echo 'install ok installed'",
  'apt-get': 'echo "apt-get $*" >> "$CALLS"',
  npm: 'echo "npm $*" >> "$CALLS"',
  su: 'echo "su $*" >> "$CALLS"',
  pg_lsclusters: 'echo "16 main"',
  pg_ctlcluster: 'true',
  pg_createcluster: 'true',
  pg_isready: 'true',
  ls: 'echo 16',
};

function writeStubs(): void {
  if (existsSync(stubs)) return;
  mkdirSync(stubs, { recursive: true });
  for (const [name, body] of Object.entries(STUBS)) {
    writeFileSync(join(stubs, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(stubs, name), 0o755);
  }
}

async function setup(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stderr: string; calls: string }> {
  writeStubs();
  writeFileSync(log, '');
  const etc = join(dir, 'etc');
  const r = await run('bash', ['scripts/setup-debian.sh', ...args], { env: { PATH: `${stubs}:/usr/bin:/bin`, CALLS: log, ALEPH_NODES_ETC: etc, ...env } });
  return { code: r.code, stderr: r.stderr, calls: readFileSync(log, 'utf8') };
}

describe('setup-debian.sh roles', () => {
  it('--role crn: no database, no dev dependencies', async () => {
    const r = await setup(['--role', 'crn']);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.calls, /^su /m, 'no PostgreSQL at all');
    assert.match(r.calls, /^npm ci --omit=dev/m);
    assert.match(r.calls, /^node packages\/guest\/bin\/build-images\.js/m, 'the guest images a CRN boots');
  });

  it('--role ccn: its own database with a random password, no test database', async () => {
    const r = await setup(['--role', 'ccn']);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.calls, /PASSWORD 'aleph'|aleph_test/);
    assert.match(r.calls, /^npm ci --omit=dev/m);
    const password = /CREATE ROLE aleph_ccn LOGIN PASSWORD '([0-9a-f]{48})'/.exec(r.calls)?.[1];
    assert.ok(password, r.calls);
    const urlFile = join(dir, 'etc', 'ccn-database.url');
    assert.equal(readFileSync(urlFile, 'utf8'), `postgres://aleph_ccn:${password}@127.0.0.1:5432/aleph_ccn\n`);
    assert.equal(statSync(urlFile).mode & 0o777, 0o600);
    assert.doesNotMatch(r.calls, /build-images/);
  });

  it('the default role is dev (CI): the test database and every npm dependency', async () => {
    assert.match(readFileSync('.ci/run', 'utf8'), /bash scripts\/setup-debian\.sh\n/, 'CI runs the default role');
    // The Python clients' venvs, already at their pinned versions (nothing is installed).
    const py = join(dir, 'py');
    for (const [venv, version] of [['sdk', '2.4.0'], ['cli', '1.9.3']]) {
      mkdirSync(join(py, venv as string, 'bin'), { recursive: true });
      writeFileSync(join(py, venv as string, 'bin', 'python'), `#!/bin/sh\necho 'Version: ${version}'\n`, { mode: 0o755 });
    }
    const r = await setup([], { ALEPH_PY_ROOT: py });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.calls, /CREATE ROLE aleph LOGIN PASSWORD 'aleph' CREATEDB/);
    assert.match(r.calls, /CREATE DATABASE aleph_test OWNER aleph/);
    assert.match(r.calls, /^npm ci --no-audit/m);
    const bad = await setup(['--role', 'nope']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--role must be dev, ccn or crn/);
  });
});
