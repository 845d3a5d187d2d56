import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { devnetCrnOwners, devnetOracle, planLayout } from './layout.ts';
import { pickFreePort } from './ports.ts';

describe('devnet layout', () => {
  const dir = mkdtempSync(join(tmpdir(), 'devnet-layout-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('links CRN i to CCN i mod M, gives every CRN its own host and CCN i ports base+2i and base+2i+1', async () => {
    const data = join(dir, 'a');
    const base = await pickFreePort('127.0.0.1');
    // Four consecutive free ports are likely but not certain: only the shape is checked when busy.
    const layout = await planLayout({ dataDir: data, ccns: 2, crns: 5, ccnPort: base, crnPort: 0, distinctHosts: false }).catch(() => undefined);
    if (!layout) return;
    assert.deepEqual(layout.crns.map((c) => c.ccn), [0, 1, 0, 1, 0]);
    assert.deepEqual(layout.crns.map((c) => c.host), ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6']);
    assert.deepEqual(layout.ccns.map((c) => [c.host, c.port, c.p2pPort]), [['127.0.0.1', base, base + 1], ['127.0.0.1', base + 2, base + 3]]);
    assert.notEqual(layout.ccns[0]?.owner.address, layout.ccns[1]?.owner.address);
    assert.equal(devnetCrnOwners(data).length, 5);
  });

  it('puts CCN i on 127.0.1.(i+1) with --ccn-distinct-hosts', async () => {
    const layout = await planLayout({ dataDir: join(dir, 'b'), ccns: 3, crns: 1, ccnPort: 0, crnPort: 0, distinctHosts: true });
    assert.deepEqual(layout.ccns.map((c) => c.host), ['127.0.1.1', '127.0.1.2', '127.0.1.3']);
  });

  it("takes the previous run's ports again when asked for any free port, and the same keys", async () => {
    const data = join(dir, 'c');
    const first = await planLayout({ dataDir: data, ccns: 1, crns: 1, ccnPort: 0, crnPort: 0, distinctHosts: false });
    const ccn = first.ccns[0]!;
    const crn = first.crns[0]!;
    mkdirSync(ccn.dir, { recursive: true });
    writeFileSync(ccn.configFile, JSON.stringify({ port: ccn.port, p2pPort: ccn.p2pPort }));
    mkdirSync(crn.dir, { recursive: true });
    writeFileSync(crn.configFile, JSON.stringify({ port: crn.port }));
    const again = await planLayout({ dataDir: data, ccns: 1, crns: 1, ccnPort: 0, crnPort: 0, distinctHosts: false });
    assert.deepEqual([again.ccns[0]?.port, again.ccns[0]?.p2pPort, again.crns[0]?.port], [ccn.port, ccn.p2pPort, crn.port]);
    assert.equal(again.ccns[0]?.owner.address, ccn.owner.address);
    assert.equal(again.crns[0]?.owner.address, crn.owner.address);
  });

  it('makes one oracle key in the data dir, private to its owner (0600), and keeps it across runs', () => {
    const data = join(dir, 'd');
    const first = devnetOracle(data);
    assert.equal(first.keyFile, join(data, 'keys', 'oracle.key'));
    assert.equal(statSync(first.keyFile).mode & 0o777, 0o600);
    assert.equal(devnetOracle(data).account.address, first.account.address);
    // Not a CRN key: a previous run's CRNs are found by their key names only.
    assert.deepEqual(devnetCrnOwners(data), []);
  });
});
