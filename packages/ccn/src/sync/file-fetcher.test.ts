/**
 * The file fetcher against real HTTP servers on loopback: the hash is checked while the bytes
 * stream (sha256 and CIDv0), the size is bounded (declared or not), a peer serving other bytes
 * is scored down and the next peer is asked, pyaleph's base64 route is the fallback.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '@aleph-nodes/service';
import { cidV0, CidV0Hasher } from '../ipfs/cid-v0.ts';
import { FileStore, FileTooLargeError } from '../storage/file-store.ts';
import { FileFetcher, type FilePeer } from './file-fetcher.ts';
import { PeerScore } from './peer-score.ts';
import { HashMismatchError, stageVerified } from './verify.ts';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const policy = { baseMs: 1000, maxMs: 10_000, banMs: 60_000 };

type Handler = (path: string, res: ServerResponse) => void;

async function serve(handler: Handler): Promise<{ url: string; server: Server; hits: string[] }> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(req.url ?? '');
    handler(req.url ?? '', res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, server, hits };
}

describe('streamed hash checks', () => {
  let dir: string;
  let store: FileStore;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ccn-verify-'));
    store = new FileStore(dir);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('computes the same CIDv0 over any chunking of the stream', () => {
    for (const size of [0, 1, 262_143, 262_144, 262_145, 700_001]) {
      const bytes = randomBytes(size);
      const h = new CidV0Hasher();
      for (let i = 0; i < bytes.length; ) {
        const n = 1 + Math.floor(Math.random() * 100_000);
        h.update(bytes.subarray(i, i + n));
        i += n;
      }
      assert.equal(h.digest(), cidV0(bytes), `size ${size}`);
    }
  });

  it('stages bytes that match, refuses others and leaves nothing behind', async () => {
    const bytes = randomBytes(300_000);
    const ok = await stageVerified(store, Readable.from([bytes]), sha(bytes), 1_000_000);
    assert.equal(ok.size, bytes.length);
    store.discard(ok);
    const cid = await stageVerified(store, Readable.from([bytes.subarray(0, 100), bytes.subarray(100)]), cidV0(bytes), 1_000_000);
    store.discard(cid);
    await assert.rejects(stageVerified(store, Readable.from([bytes]), sha(randomBytes(8)), 1_000_000), HashMismatchError);
    await assert.rejects(stageVerified(store, Readable.from([bytes]), cidV0(randomBytes(8)), 1_000_000), HashMismatchError);
    await assert.rejects(stageVerified(store, Readable.from([bytes]), sha(bytes), 1000), FileTooLargeError);
    await assert.rejects(stageVerified(store, Readable.from([bytes]), `bafy${'a'.repeat(55)}`, 1_000_000), HashMismatchError, 'CIDv1 cannot be checked');
    assert.deepEqual(readdirSync(join(dir, 'tmp')), [], 'no staged file left behind');
  });
});

describe('file fetcher', () => {
  let dir: string;
  let store: FileStore;
  const servers: Server[] = [];
  const good = randomBytes(500_000);
  const hash = sha(good);
  const recorded: string[] = [];
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ccn-fetch-'));
    store = new FileStore(dir);
  });
  after(async () => {
    for (const s of servers) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
    rmSync(dir, { recursive: true, force: true });
  });

  const fetcher = (peers: FilePeer[], signal = new AbortController().signal): FileFetcher =>
    new FileFetcher({
      store,
      record: async (h) => {
        recorded.push(h);
      },
      peers: () => peers,
      log: silentLogger(),
      timeoutMs: 5000,
      requestTimeoutMs: 5000,
      nowMs: () => Date.now(),
      signal,
    });
  const peer = async (handler: Handler): Promise<FilePeer & { hits: string[] }> => {
    const s = await serve(handler);
    servers.push(s.server);
    return { url: s.url, score: new PeerScore(policy), hits: s.hits };
  };

  it('discards wrong bytes, scores the liar down and takes the file from an honest peer', async () => {
    const liar = await peer((_p, res) => res.end(randomBytes(500_000)));
    const honest = await peer((p, res) => (p === `/api/v0/storage/raw/${hash}` ? res.end(good) : ((res.statusCode = 404), res.end())));
    const missing = await peer((_p, res) => ((res.statusCode = 404), res.end()));
    const f = fetcher([liar, honest, missing]);
    // Random peer order: repeat until the liar was asked first at least once.
    for (let i = 0; i < 20 && liar.hits.length === 0; i++) {
      store.delete(hash);
      liar.score.notBefore = 0;
      assert.equal(await f.fetch(hash, 1_000_000), true);
    }
    assert.ok(liar.hits.length > 0);
    assert.ok(store.has(hash));
    assert.ok(sha(store.read(hash)!) === hash);
    assert.ok(liar.score.counts.mismatch >= 1);
    assert.ok(liar.score.score < 0);
    assert.equal(honest.score.score, 0);
    assert.equal(missing.score.score, 0, 'not having a file is no fault');
    assert.ok(f.stats.mismatches >= 1);
    assert.ok(recorded.includes(hash));
    assert.deepEqual(readdirSync(join(dir, 'tmp')), []);
  });

  it('stops reading a file past the bound, declared or not', async () => {
    store.delete(hash);
    const declared = await peer((_p, res) => {
      res.setHeader('content-length', String(10 * 1024 * 1024));
      res.write(good.subarray(0, 10));
    });
    const endless = await peer((_p, res) => {
      // Chunked, no length: more than the bound, then never ends.
      const chunk = randomBytes(64 * 1024);
      const timer = setInterval(() => res.write(chunk), 1);
      res.on('close', () => clearInterval(timer));
    });
    const f = fetcher([declared, endless]);
    assert.equal(await f.fetch(hash, 100_000), false);
    assert.equal(declared.score.counts['too-large'], 1);
    assert.equal(endless.score.counts['too-large'], 1);
    assert.equal(store.has(hash), false);
    assert.deepEqual(readdirSync(join(dir, 'tmp')), []);
  });

  it("falls back to pyaleph's base64 route and checks it the same way", async () => {
    store.delete(hash);
    const pyaleph = await peer((p, res) => {
      if (p.startsWith('/api/v0/storage/raw/')) {
        res.statusCode = 405;
        res.end();
      } else {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ status: 'success', hash, engine: 'storage', content: good.toString('base64') }));
      }
    });
    assert.equal(await fetcher([pyaleph]).fetch(hash, 1_000_000), true);
    assert.equal(sha(store.read(hash)!), hash);
    store.delete(hash);
    const lying = await peer((p, res) => {
      if (p.startsWith('/api/v0/storage/raw/')) ((res.statusCode = 500), res.end());
      else res.end(JSON.stringify({ status: 'success', content: randomBytes(100).toString('base64') }));
    });
    assert.equal(await fetcher([lying]).fetch(hash, 1_000_000), false);
    assert.equal(lying.score.counts.mismatch, 1);
  });

  it('leaves a peer that never answers after the request timeout, not the download timeout', async () => {
    store.delete(hash);
    const silent = await peer(() => undefined);
    const honest = await peer((_p, res) => res.end(good));
    const f = new FileFetcher({
      store,
      record: async () => undefined,
      peers: () => [silent, honest],
      log: silentLogger(),
      timeoutMs: 60_000,
      requestTimeoutMs: 300,
      nowMs: () => Date.now(),
      signal: new AbortController().signal,
    });
    assert.equal(await f.fetch(hash, 1_000_000), true);
    if (silent.hits.length > 0) assert.equal(silent.score.counts.transport, 1);
  });

  it('does not ask peers that are backed off', async () => {
    store.delete(hash);
    const p = await peer((_p, res) => res.end(good));
    p.score.penalize('lie', 'earlier', Date.now());
    assert.equal(await fetcher([p]).fetch(hash, 1_000_000), false);
    assert.equal(p.hits.length, 0);
  });
});
