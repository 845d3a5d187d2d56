/**
 * Files between real CCN processes: a STORE's file uploaded to
 * CCN A only is served by CCN B, which never received the upload, with the same bytes; a non-inline
 * message's content reaches B the same way. A peer that serves wrong bytes for a hash (a lying
 * HTTP server that otherwise relays A's sync pages) is refused and scored down, nothing is stored
 * under the hash, and the right file still arrives from an honest peer. A `filesKept: referenced`
 * node checks a file, evicts it, and fetches it again when someone reads it.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { buildInlineMessage, EthAccount, sha256Hex, verificationBuffer, type AlephMessage } from '@aleph-nodes/protocol';
import { eventually } from '../helpers/eventually.ts';
import { netNode, peerOf, submit, syncStatus, type NetNode } from './helpers.ts';

const account = EthAccount.generate();
const CHANNEL = `SYNC-FILES-${Date.now()}`;

async function uploadWithStore(url: string, file: Buffer): Promise<AlephMessage> {
  const store = buildInlineMessage(account, 'STORE', { item_type: 'storage', item_hash: sha256Hex(file) }, { channel: CHANNEL });
  const form = new FormData();
  form.append('metadata', JSON.stringify({ message: store, sync: true }));
  form.append('file', new Blob([file]), 'blob');
  const res = await fetch(`${url}/api/v0/storage/add_file`, { method: 'POST', body: form });
  assert.equal(res.status, 200, await res.text());
  return store;
}

/** A POST whose content is a stored document (item_type storage), uploaded to `url` only. */
async function nonInlinePost(url: string): Promise<AlephMessage> {
  const content = Buffer.from(JSON.stringify({ address: account.address, time: Date.now() / 1000, type: 'sync-files', content: { big: 'y'.repeat(60_000) } }));
  const res = await fetch(`${url}/api/v0/storage/add_json`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: content });
  assert.equal(res.status, 200);
  const unsigned = { chain: 'ETH', sender: account.address, type: 'POST' as const, channel: CHANNEL, time: Date.now() / 1000, item_type: 'storage' as const, item_hash: sha256Hex(content) };
  const message = { ...unsigned, signature: account.signPersonal(verificationBuffer(unsigned)) };
  assert.equal(await submit(url, message, true), 200);
  return message;
}

const statusOf = async (url: string, hash: string): Promise<string | undefined> => {
  const res = await fetch(`${url}/api/v0/messages/${hash}`);
  return res.status === 200 ? ((await res.json()) as { status: string }).status : undefined;
};

async function raw(url: string, hash: string): Promise<{ status: number; bytes: Buffer }> {
  const res = await fetch(`${url}/api/v0/storage/raw/${hash}`);
  return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()) };
}

/** Relays the sync routes of `upstream`, and answers every file with wrong bytes of the right length. */
async function lyingFileServer(upstream: string): Promise<{ url: string; server: Server; fileHits: () => number }> {
  let fileHits = 0;
  const server = createServer((req, res) => {
    const path = req.url ?? '';
    if (path.startsWith('/api/v0/sync/')) {
      void fetch(`${upstream}${path}`).then(async (up) => {
        res.writeHead(up.status, { 'content-type': 'application/json' });
        res.end(Buffer.from(await up.arrayBuffer()));
      }).catch(() => res.destroy()); // the upstream node stopped first (end of the test)
      return;
    }
    if (path.startsWith('/api/v0/storage/')) {
      fileHits += 1;
      void fetch(`${upstream}/api/v0/storage/metadata/${path.split('/').pop()}`).then(async (up) => {
        const size = up.status === 200 ? ((await up.json()) as { size: number }).size : 1000;
        const wrong = randomBytes(size);
        if (path.startsWith('/api/v0/storage/raw/')) res.end(wrong);
        else res.end(JSON.stringify({ status: 'success', content: wrong.toString('base64') }));
      }).catch(() => res.destroy());
      return;
    }
    res.statusCode = 404;
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server, fileHits: () => fileHits };
}

describe('sync: files reach the CCNs that never received them', () => {
  const nodes: NetNode[] = [];
  const servers: Server[] = [];
  after(async () => {
    for (const n of nodes) await n.dispose();
    for (const s of servers) await new Promise((r) => s.close(r));
  });

  it("serves a STORE's file and a non-inline content uploaded to another CCN, with the same bytes", async () => {
    const [a, b] = [await netNode(), await netNode()];
    nodes.push(a, b);
    await a.start({ syncPeers: [b.url] });
    await b.start({ syncPeers: [a.url] });
    const file = randomBytes(3 * 1024 * 1024 + 17);
    const store = await uploadWithStore(a.url, file);
    const post = await nonInlinePost(a.url);
    await eventually('B to process the STORE and the non-inline POST', 60_000, async () => (await statusOf(b.url, store.item_hash)) === 'processed' && (await statusOf(b.url, post.item_hash)) === 'processed');
    const served = await raw(b.url, sha256Hex(file));
    assert.equal(served.status, 200);
    assert.ok(served.bytes.equals(file), 'the same bytes');
    const files = (await syncStatus(b.url)).files;
    assert.equal(files.fetched, 2, 'the file and the content document');
    assert.equal(files.mismatches, 0);
  });

  it('refuses wrong bytes from a lying peer, scores it down, and takes the file from an honest one', async () => {
    const a = nodes[0]!;
    const liar = await lyingFileServer(a.url);
    servers.push(liar.server);
    const c = await netNode();
    nodes.push(c);
    const file = randomBytes(200_000);
    const store = await uploadWithStore(a.url, file);
    const hash = sha256Hex(file);

    // Only the liar at first: C learns the STORE from it (relayed pages) but gets wrong bytes.
    await c.start({ syncPeers: [liar.url] });
    await eventually('C to store the STORE message pending', 30_000, async () => (await statusOf(c.url, store.item_hash)) === 'pending');
    const view = await eventually('the liar to be caught', 30_000, async () => {
      const v = await syncStatus(c.url);
      return v.files.mismatches >= 1 ? v : undefined;
    });
    const liarView = peerOf(view, liar.url);
    assert.ok((liarView.offences.mismatch ?? 0) >= 1);
    assert.ok(liarView.score < 0, 'scored down');
    assert.ok(liar.fileHits() >= 1);
    assert.equal(existsSync(join(c.dataDir, 'files', hash.slice(0, 2), hash)), false, 'nothing stored under the hash');
    assert.equal((await raw(c.url, hash)).status, 404);
    assert.equal(await statusOf(c.url, store.item_hash), 'pending', 'the STORE waits for its file');

    // An honest peer joins: the right file arrives and the STORE is processed.
    await c.stop();
    await c.start({ syncPeers: [liar.url, a.url] });
    await eventually('the STORE to be processed on C', 60_000, async () => (await statusOf(c.url, store.item_hash)) === 'processed');
    const served = await raw(c.url, hash);
    assert.ok(served.bytes.equals(file));
  });

  it('with filesKept=referenced, checks a file, evicts it, and fetches it again when it is read', async () => {
    const a = nodes[0]!;
    const d = await netNode();
    nodes.push(d);
    const file = randomBytes(500_000);
    const store = await uploadWithStore(a.url, file);
    const hash = sha256Hex(file);
    const onDisk = join(d.dataDir, 'files', hash.slice(0, 2), hash);
    await d.start({ syncPeers: [a.url], filesKept: 'referenced', fileCacheSeconds: 0 });
    await eventually('the STORE to be processed on D', 60_000, async () => (await statusOf(d.url, store.item_hash)) === 'processed');
    await eventually('the file to be evicted (no workload uses it)', 30_000, async () => !existsSync(onDisk));
    assert.ok((await syncStatus(d.url)).files.evicted >= 1);
    const metadata = (await (await fetch(`${d.url}/api/v0/storage/metadata/${hash}`)).json()) as { size: number };
    assert.equal(metadata.size, file.length, 'its size is still known');
    assert.equal(existsSync(onDisk), false, 'reading the metadata does not fetch the bytes');
    const served = await raw(d.url, hash);
    assert.equal(served.status, 200);
    assert.ok(served.bytes.equals(file), 'fetched on demand from a peer, same bytes');
  });
});
