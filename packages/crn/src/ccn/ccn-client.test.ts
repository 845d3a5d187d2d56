/**
 * The CRN's CCN client over a list of CCNs: a CCN that cannot be reached (refused connection, 5xx)
 * is skipped for the next, the one that answered stays in use, the first is tried first again
 * after the fail-back delay, and a 404 (an answer) never falls over. Real HTTP servers; one is
 * a closed port.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { CcnClient, CcnError } from './ccn-client.ts';

interface FakeCcn {
  url: string;
  server: Server;
  hits: string[];
  status: number;
}

async function fakeCcn(name: string): Promise<FakeCcn> {
  const ccn: FakeCcn = { url: '', server: undefined as unknown as Server, hits: [], status: 200 };
  ccn.server = createServer((req, res) => {
    ccn.hits.push(req.url ?? '');
    res.writeHead(ccn.status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(req.url?.includes('/storage/raw/') ? { file: name } : { data: { k: { served_by: name } } }));
  });
  await new Promise<void>((resolve) => ccn.server.listen(0, '127.0.0.1', resolve));
  ccn.url = `http://127.0.0.1:${(ccn.server.address() as AddressInfo).port}`;
  return ccn;
}

/** A port nothing listens on (bound, then closed). */
async function deadUrl(): Promise<string> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

const servedBy = async (c: CcnClient): Promise<unknown> => (await c.getAggregate('0xowner', 'k'))?.served_by;

describe('CcnClient with a list of CCNs', () => {
  let a: FakeCcn;
  let b: FakeCcn;
  let dead: string;
  before(async () => {
    a = await fakeCcn('a');
    b = await fakeCcn('b');
    dead = await deadUrl();
  });
  after(() => {
    a.server.close();
    b.server.close();
  });

  it('keeps a single URL working', async () => {
    const c = new CcnClient(a.url);
    assert.equal(await servedBy(c), 'a');
    assert.deepEqual(c.baseUrls, [a.url]);
  });

  it('falls over to the next CCN when the first is unreachable, and stays there', async () => {
    const switches: string[] = [];
    const c = new CcnClient([dead, b.url], { onSwitch: (from, to) => switches.push(`${from} -> ${to}`) });
    assert.equal(await servedBy(c), 'b');
    assert.equal(c.baseUrl, b.url);
    assert.deepEqual(switches, [`${dead} -> ${b.url}`]);
    b.hits.length = 0;
    assert.equal(await servedBy(c), 'b');
    assert.equal(b.hits.length, 1, 'no second try of the dead CCN while the fallback answers');
    // Files fall over the same way.
    const file = await new CcnClient([dead, a.url]).downloadBytes('f'.repeat(64), 1024);
    assert.deepEqual(JSON.parse(Buffer.from(file).toString()), { file: 'a' });
  });

  it('falls over on a 5xx, not on a 404 (an answer: the CCN does not have it)', async () => {
    const c = new CcnClient([a.url, b.url]);
    a.status = 503;
    try {
      assert.equal(await servedBy(c), 'b');
    } finally {
      a.status = 200;
    }
    const d = new CcnClient([a.url, b.url]);
    a.status = 404;
    b.hits.length = 0;
    try {
      assert.equal(await d.getAggregate('0xowner', 'k'), undefined);
      await assert.rejects(d.getMessage('a'.repeat(64)), (err: unknown) => err instanceof CcnError && err.code === 'NOT_FOUND');
      assert.equal(b.hits.length, 0, 'a 404 is not a reason to ask another CCN');
    } finally {
      a.status = 200;
    }
  });

  it('goes back to the first CCN after the fail-back delay', async () => {
    let firstUp = false;
    const first = await fakeCcn('first');
    first.server.close();
    await new Promise((r) => setTimeout(r, 20));
    const url = first.url;
    const c = new CcnClient([url, b.url], { failbackMs: 100 });
    assert.equal(await servedBy(c), 'b');
    // The first comes back on the same port.
    const again = createServer((_req, res) => {
      firstUp = true;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ data: { k: { served_by: 'first' } } }));
    });
    await new Promise<void>((resolve) => again.listen(Number(new URL(url).port), '127.0.0.1', resolve));
    try {
      assert.equal(await servedBy(c), 'b', 'within the delay the fallback stays in use');
      await new Promise((r) => setTimeout(r, 150));
      assert.equal(await servedBy(c), 'first');
      assert.equal(firstUp, true);
      assert.equal(c.baseUrl, url);
    } finally {
      again.close();
    }
  });

  it('reports the last failure when no CCN answers', async () => {
    const c = new CcnClient([dead, await deadUrl()]);
    await assert.rejects(c.getMessage('b'.repeat(64)), (err: unknown) => err instanceof CcnError && err.code === 'UNREACHABLE');
  });
});
