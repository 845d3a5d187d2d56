import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { hostPortFree, parseForwardedPorts, PortForwardTable, type DesiredPorts } from './port-forwards.ts';

const ssh: DesiredPorts = new Map([[22, { tcp: true, udp: false }]]);

function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ port, host: '0.0.0.0' }, () => resolve(server));
  });
}

/** A port range nothing on this host listens on right now (found with the real bind test). */
async function freeRange(size: number): Promise<number> {
  for (let start = 41_000; start < 60_000; start += 97) {
    let ok = true;
    for (let p = start; p < start + size && ok; p++) ok = await hostPortFree(p);
    if (ok) return start;
  }
  throw new Error('no free port range on this host');
}

describe('PortForwardTable', () => {
  const dir = mkdtempSync(join(tmpdir(), 'crn-ports-'));
  const dbs: Database.Database[] = [];
  const open = (name: string): Database.Database => {
    const db = new Database(join(dir, name));
    dbs.push(db);
    return db;
  };
  after(() => {
    for (const db of dbs) db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('hands out the lowest free ports from the start, unique across instances', async () => {
    const start = await freeRange(8);
    const table = new PortForwardTable(open('a.sqlite'), { start, end: start + 7 });
    const a = await table.assign('a', new Map([[22, { tcp: true, udp: false }], [80, { tcp: true, udp: true }]]));
    assert.deepEqual(a, [
      { guestPort: 22, hostPort: start, tcp: true, udp: false },
      { guestPort: 80, hostPort: start + 1, tcp: true, udp: true },
    ]);
    const b = await table.assign('b', ssh);
    assert.deepEqual(b, [{ guestPort: 22, hostPort: start + 2, tcp: true, udp: false }]);
  });

  it('keeps the ports of an instance across restarts and across a new table on the same database', async () => {
    const start = await freeRange(8);
    const path = 'b.sqlite';
    const first = await new PortForwardTable(open(path), { start, end: start + 7 }).assign('vm', ssh);
    const again = await new PortForwardTable(open(path), { start, end: start + 7 }).assign('vm', ssh);
    assert.deepEqual(again, first);
  });

  it('skips ports that fail the bind test, and moves a kept port that became busy', async () => {
    const start = await freeRange(8);
    const table = new PortForwardTable(open('c.sqlite'), { start, end: start + 7 });
    const busy = await listen(start);
    try {
      const first = await table.assign('vm', ssh);
      assert.equal(first[0]?.hostPort, start + 1, 'a port a host service listens on is skipped');
      const taken = await listen(start + 1);
      try {
        const moved = await table.assign('vm', ssh);
        assert.equal(moved[0]?.hostPort, start + 2);
      } finally {
        taken.close();
      }
    } finally {
      busy.close();
    }
  });

  it('skips host ports that nftables already forwards (another CRN, a VM of a previous run)', async () => {
    const start = await freeRange(8);
    const forwarded = new Set([start, start + 2]);
    const table = new PortForwardTable(open('h.sqlite'), { start, end: start + 7 }, hostPortFree, async () => forwarded);
    const got = await table.assign('vm', new Map([[22, { tcp: true, udp: false }], [80, { tcp: true, udp: false }]]));
    assert.deepEqual(got.map((f) => f.hostPort), [start + 1, start + 3]);
    forwarded.add(start + 1);
    assert.equal((await table.assign('vm', ssh))[0]?.hostPort, start + 3, 'a kept port forwarded by someone else moves (80 was released first)');
  });

  it('reads forwarded ports from map elements and dnat rules of an nft ruleset', () => {
    const ruleset = [
      'table inet aleph_microvm {',
      '\tmap portfwd {',
      '\t\telements = { tcp . 24000 comment "vmtap6" : 172.16.6.2 . 22, udp . 24001 : 172.16.6.2 . 53 }',
      '\t}',
      '\t\tiifname "eth0" tcp dport 24005 dnat ip to 172.16.9.2:22',
      '\t\ttcp dport 4020 accept',
      '}',
    ].join('\n');
    assert.deepEqual([...parseForwardedPorts(ruleset)].sort(), [24000, 24001, 24005]);
  });

  it('releases ports no longer wanted and all ports of a released instance', async () => {
    const start = await freeRange(8);
    const table = new PortForwardTable(open('d.sqlite'), { start, end: start + 7 });
    await table.assign('vm', new Map([[22, { tcp: true, udp: false }], [8080, { tcp: true, udp: false }]]));
    const fewer = await table.assign('vm', ssh);
    assert.deepEqual(fewer.map((f) => f.guestPort), [22]);
    assert.equal((await table.assign('other', ssh))[0]?.hostPort, start + 1, 'the released host port is free again');
    table.release('vm');
    assert.deepEqual(table.active('vm'), []);
    assert.deepEqual(table.allActive().map((f) => f.vmHash), ['other']);
  });

  it('runs concurrent assignments one at a time: no host port is given twice', async () => {
    const start = await freeRange(8);
    const table = new PortForwardTable(open('e.sqlite'), { start, end: start + 7 });
    const all = await Promise.all(['a', 'b', 'c', 'd'].map((vm) => table.assign(vm, ssh)));
    const ports = all.map((f) => f[0]?.hostPort);
    assert.equal(new Set(ports).size, 4);
  });

  it('refuses when the range is exhausted, and refuses an invalid range', async () => {
    const start = await freeRange(2);
    const table = new PortForwardTable(open('f.sqlite'), { start, end: start + 1 });
    await table.assign('a', new Map([[22, { tcp: true, udp: false }], [80, { tcp: true, udp: false }]]));
    await assert.rejects(table.assign('b', ssh), (err: Error & { code?: string }) => err.code === 'INSUFFICIENT_CAPACITY' && /no free host port/.test(err.message));
    assert.throws(() => new PortForwardTable(open('g.sqlite'), { start: 30_000, end: 29_000 }), RangeError);
  });
});
