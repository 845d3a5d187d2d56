import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { CcnClient } from '../ccn/ccn-client.ts';
import { PortForwardTable } from '../db/port-forwards.ts';
import { authorizedKeysOf, instanceHostname, instancePortForwards, ownerPortForwards } from './prepare-instance.ts';

const VM = 'a'.repeat(64);

describe('instance keys, hostname and port forwards', () => {
  // A minimal CCN aggregates endpoint; `answer` decides what the next request gets.
  let answer: { status: number; body?: unknown } = { status: 404 };
  let server: Server;
  let ccn: CcnClient;
  before(async () => {
    server = createServer((req, res) => {
      assert.match(req.url ?? '', /^\/api\/v0\/aggregates\/0xowner\.json\?keys=port-forwarding$/);
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer.body ?? {}));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    ccn = new CcnClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  });
  after(() => server.close());

  it('splits authorized_keys entries into lines, dropping blanks and comments', () => {
    assert.deepEqual(authorizedKeysOf({ authorized_keys: ['ssh-ed25519 AAAA one', '# comment\nssh-rsa BBBB two\r\n\n'] }), ['ssh-ed25519 AAAA one', 'ssh-rsa BBBB two']);
    assert.deepEqual(authorizedKeysOf({}), []);
  });

  it('names the guest with the base32 label of the item hash', () => {
    assert.equal(instanceHostname(VM, 'id').length, 52);
    assert.equal(instanceHostname('QmNotAHash', 'fallback-id'), 'fallback-id');
  });

  it('reads the owner aggregate: 404 is empty, bad entries are skipped, errors are undefined', async () => {
    answer = { status: 404 };
    assert.deepEqual(await ownerPortForwards(ccn, '0xowner', VM), new Map());
    answer = { status: 200, body: { data: { 'port-forwarding': { [VM]: { ports: { '80': { tcp: true, udp: false }, '53': { tcp: false, udp: true }, x: { tcp: true }, '70000': { tcp: true }, '9': { tcp: false, udp: false } } } } } } };
    assert.deepEqual(await ownerPortForwards(ccn, '0xowner', VM), new Map([[53, { tcp: false, udp: true }], [80, { tcp: true, udp: false }]]));
    answer = { status: 500 };
    assert.equal(await ownerPortForwards(ccn, '0xowner', VM), undefined);
  });

  it('always forwards 22/tcp and keeps the current mappings when the aggregate cannot be read', async () => {
    const db = new Database(':memory:');
    try {
      // Host-independent: every port passes the bind test and nothing is forwarded yet.
      const table = new PortForwardTable(db, { start: 24_000, end: 65_535 }, async () => true, async () => new Set());
      answer = { status: 200, body: { data: { 'port-forwarding': { [VM]: { ports: { '8080': { tcp: true, udp: false } } } } } } };
      const first = await instancePortForwards(ccn, table, '0xowner', VM);
      assert.deepEqual(first.map((f) => [f.guestPort, f.hostPort]), [[22, 24_000], [8080, 24_001]]);
      answer = { status: 503 };
      assert.deepEqual(await instancePortForwards(ccn, table, '0xowner', VM), first);
      answer = { status: 404 };
      assert.deepEqual((await instancePortForwards(ccn, table, '0xowner', VM)).map((f) => f.guestPort), [22]);
    } finally {
      db.close();
    }
  });
});
