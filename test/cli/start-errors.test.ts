/**
 * What an operator sees when a node cannot start or a command cannot reach a node: one human line
 * on stderr naming what and where, exit 2 for the configuration, 1 at run time; nothing written
 * where nothing should be (no SQLite file named after a URL, no new node identity).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { EthAccount } from '@aleph-nodes/protocol';
import { eventually } from '../helpers/eventually.ts';
import { freePort } from '../helpers/net.ts';
import { jsonLine, run, RunningProcess } from '../helpers/process.ts';

const dir = mkdtempSync(join(tmpdir(), 'start-errors-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const ccn = (args: string[], cwd?: string) => run(process.execPath, [join(process.cwd(), 'packages/cli/bin/ccn.js'), ...args], cwd ? { cwd } : {});
const crn = (args: string[]) => run(process.execPath, ['packages/cli/bin/crn.js', ...args]);

/** Exactly one line on stderr, without a stack trace. */
function oneLine(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l !== '' && !/DeprecationWarning|FastifyDeprecation|--trace-warnings/.test(l));
  assert.equal(lines.length, 1, `one line on stderr, got:\n${stderr}`);
  assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
  return lines[0] as string;
}

function keyedDir(name: string): string {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, 'node.key'), `${EthAccount.generate().exportPrivateKey()}\n`, { mode: 0o600 });
  return d;
}

describe('start: configuration errors exit 2 with one line', () => {
  it('an unknown --db scheme is refused and writes no file', async () => {
    const work = join(dir, 'cwd');
    mkdirSync(work);
    const r = await ccn(['start', '--data-dir', keyedDir('db'), '--db', 'mysql://x', '--port', '0', '--p2p-port', '0'], work);
    assert.equal(r.code, 2, r.stderr);
    assert.match(oneLine(r.stderr), /db: unknown database scheme/);
    assert.deepEqual(readdirSync(work), [], 'no SQLite file named after the URL');
  });

  it('a mistyped --key-file is an error, never a new node identity', async () => {
    const data = keyedDir('typo');
    const r = await ccn(['start', '--data-dir', data, '--key-file', join(data, 'nod.key'), '--port', '0', '--p2p-port', '0']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(oneLine(r.stderr), /key file .*nod\.key does not exist/);
    assert.equal(existsSync(join(data, 'nod.key')), false);
  });

  it('a fresh data dir without a key is told to run init, for both nodes', async () => {
    const c = await ccn(['start', '--data-dir', join(dir, 'fresh-ccn'), '--port', '0', '--p2p-port', '0']);
    assert.equal(c.code, 2);
    assert.match(oneLine(c.stderr), /ccn init --data-dir/);
    const r = await crn(['start', '--data-dir', join(dir, 'fresh-crn'), '--ccn', 'http://127.0.0.1:9', '--port', '0', '--executor', 'process']);
    assert.equal(r.code, 2);
    assert.match(oneLine(r.stderr), /crn init --data-dir/);
    assert.equal(existsSync(join(dir, 'fresh-crn', 'node.key')), false);
  });

  it('a bad key file and a data dir that is a file: one human line, exit 2', async () => {
    const bad = join(dir, 'bad-key');
    mkdirSync(bad);
    writeFileSync(join(bad, 'node.key'), 'not a key\n');
    const k = await crn(['start', '--data-dir', bad, '--ccn', 'http://127.0.0.1:9', '--port', '0', '--executor', 'process']);
    assert.equal(k.code, 2, k.stderr);
    assert.match(oneLine(k.stderr), /key file .*node\.key does not hold a 0x-hex secp256k1 private key/);
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    const f = await ccn(['start', '--data-dir', file, '--port', '0', '--p2p-port', '0']);
    assert.equal(f.code, 2, f.stderr);
    assert.match(oneLine(f.stderr), /data dir .*a-file is not a directory/);
  });

  it('--print-config prints the settings in effect (secrets masked) and exits 0', async () => {
    const r = await ccn(['start', '--data-dir', join(dir, 'print'), '--port', '4999', '--db', 'postgres://u:secret@127.0.0.1/x', '--print-config']);
    assert.equal(r.code, 0, r.stderr);
    const config = JSON.parse(r.stdout) as { port: number; db: string; registryTag: string };
    assert.equal(config.port, 4999);
    assert.equal(config.db, 'postgres://u:***@127.0.0.1/x');
    assert.equal(config.registryTag, 'mainnet');
    const c = await crn(['start', '--data-dir', join(dir, 'print'), '--ccn', 'http://127.0.0.1:9', '--print-config']);
    assert.equal(c.code, 0, c.stderr);
    assert.equal((JSON.parse(c.stdout) as { ccn: string }).ccn, 'http://127.0.0.1:9');
    assert.equal(existsSync(join(dir, 'print')), false, 'nothing created');
  });

  it('a port in use: one line naming the address, exit 1', async () => {
    const port = await freePort('127.0.0.1');
    const { createServer } = await import('node:net');
    const server = createServer();
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    try {
      const r = await ccn(['start', '--data-dir', keyedDir('busy'), '--port', String(port), '--p2p-port', '0']);
      assert.equal(r.code, 1, r.stderr);
      assert.match(oneLine(r.stderr), new RegExp(`ccn: failed to start: cannot listen on 127\\.0\\.0\\.1:${port}: the address is already in use`));
    } finally {
      server.close();
    }
  });
});

describe('network errors name the URL and the cause', () => {
  it('register, link and status against a closed port', async () => {
    const closed = `http://127.0.0.1:${await freePort('127.0.0.1')}`;
    const data = keyedDir('net');
    writeFileSync(join(data, 'config.json'), JSON.stringify({ dataDir: data, ccn: closed }));
    const reg = await crn(['register', '--config', join(data, 'config.json'), '--address', 'http://127.0.0.1:4020']);
    assert.equal(reg.code, 1);
    assert.match(oneLine(reg.stderr), new RegExp(`cannot reach ${closed}/api/v0/nodes: .*ECONNREFUSED`));
    const link = await ccn(['link', 'a'.repeat(64), '--ccn', closed, '--key-file', join(data, 'node.key')]);
    assert.equal(link.code, 1);
    assert.match(oneLine(link.stderr), new RegExp(`cannot reach ${closed}/api/v0/nodes: .*ECONNREFUSED`));
    const status = await crn(['status', '--url', closed]);
    assert.equal(status.code, 1);
    assert.match(oneLine(status.stderr), new RegExp(`cannot reach ${closed}/about/usage/system: .*ECONNREFUSED`));
  });

  it('a CRN whose CCN cannot be reached starts, and warns on stderr naming the CCN', async () => {
    const closed = `http://127.0.0.1:${await freePort('127.0.0.1')}`;
    const node = new RunningProcess(process.execPath, ['packages/cli/bin/crn.js', 'start', '--data-dir', keyedDir('lonely'), '--ccn', closed, '--port', '0', '--executor', 'process']);
    try {
      await node.waitForLine((l) => jsonLine(l)?.msg === 'crn ready');
      await node.waitForLine((l) => jsonLine(l)?.level === 40 && /no CCN can be reached/.test(String(jsonLine(l)?.msg)));
      // stderr and stdout are separate pipes: the warning may arrive after the log line.
      const warning = new RegExp(`crn: warning: no CCN can be reached \\(cannot reach ${closed}/api/v0/version: .*ECONNREFUSED`);
      await eventually('the warning on stderr', 30_000, async () => warning.test(node.stderr));
      assert.match(node.stderr, warning);
    } finally {
      assert.equal((await node.stop()).code, 0, node.stderr);
    }
  });
});

describe('crn init and crn doctor', () => {
  it('crn init exits 2 having written nothing, or 0 having written the key', async () => {
    const d = join(dir, 'init');
    const bad = await crn(['init', '--data-dir', d, '--ccn', 'http://127.0.0.1:4024', '--allocation-signer', '0xnope']);
    assert.equal(bad.code, 2);
    assert.match(oneLine(bad.stderr), /--allocation-signer/);
    assert.equal(existsSync(join(d, 'node.key')), false, 'exit 2: nothing was done');
    const ok = await crn(['init', '--data-dir', d, '--ccn', 'http://127.0.0.1:4024']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.ok(existsSync(join(d, 'node.key')));
  });

  it('doctor refuses a --data-dir that does not exist instead of checking /', async () => {
    const r = await crn(['doctor', '--data-dir', join(dir, 'no-such-dir')]);
    assert.equal(r.code, 2);
    assert.match(oneLine(r.stderr), /no-such-dir does not exist/);
  });
});
