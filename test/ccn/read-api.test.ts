/** The read routes of a real CCN process: message lists, aggregates, posts, files, prices, balances, info. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AuthenticatedAlephHttpClient } from '@aleph-sdk/client';
import { importAccountFromPrivateKey } from '@aleph-sdk/ethereum';
import { buildInlineMessage, EthAccount, sha256Hex, type AlephMessage } from '@aleph-nodes/protocol';
import { postgresSettings, startCcnProcess, type CcnProcess } from './helpers/ccn-process.ts';

type Json = Record<string, unknown>;

for (const engine of ['sqlite', 'postgres'] as const) describe(`read API (${engine})`, () => {
  let ccn: CcnProcess;
  const pgSchema = engine === 'postgres' ? postgresSettings() : undefined;
  const alice = EthAccount.generate();
  const bob = EthAccount.generate();
  const indexer = EthAccount.generate();
  const posts: AlephMessage[] = [];

  const submit = async (message: AlephMessage): Promise<void> => {
    const res = await fetch(`${ccn.url}/api/v0/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sync: true, message }),
    });
    assert.equal(res.status, 200, await res.text());
  };
  const get = async (path: string): Promise<{ status: number; body: Json }> => {
    const res = await fetch(`${ccn.url}${path}`);
    return { status: res.status, body: (await res.json()) as Json };
  };

  before(async () => {
    ccn = await startCcnProcess({ balanceIndexers: [indexer.address], ...pgSchema?.settings });
    for (let i = 0; i < 5; i++) {
      const m = buildInlineMessage(alice, 'POST', { type: i % 2 ? 'odd' : 'even', content: { i, tags: [`t${i}`] } }, { channel: 'READ', time: 1_700_000_000 + i });
      posts.push(m);
      await submit(m);
    }
    await submit(buildInlineMessage(bob, 'AGGREGATE', { key: 'prefs', content: { theme: 'dark' } }, { time: 1_700_000_100 }));
    await submit(buildInlineMessage(bob, 'AGGREGATE', { key: 'prefs', content: { lang: 'fr' } }, { time: 1_700_000_101 }));
    await submit(buildInlineMessage(indexer, 'POST', { type: 'balances-update', content: { chain: 'ETH', main_height: 5, balances: { [alice.address]: 1234.5 } } }));
  });
  after(async () => {
    await ccn?.stop();
    await pgSchema?.drop();
  });

  it('pages messages newest first with stable totals', async () => {
    const page1 = await get(`/api/v0/messages.json?addresses=${alice.address}&msgType=POST&pagination=2&page=1`);
    assert.equal(page1.status, 200);
    assert.equal(page1.body.pagination_total, 5);
    assert.equal(page1.body.pagination_item, 'messages');
    const hashes1 = (page1.body.messages as { item_hash: string }[]).map((m) => m.item_hash);
    assert.deepEqual(hashes1, [posts[4]?.item_hash, posts[3]?.item_hash]);
    const page3 = await get(`/api/v0/messages/page/3.json?addresses=${alice.address}&pagination=2&sort_order=-1`);
    assert.deepEqual((page3.body.messages as { item_hash: string }[]).map((m) => m.item_hash), [posts[0]?.item_hash]);
    const ascending = await get(`/api/v0/messages.json?addresses=${alice.address}&sortOrder=1&pagination=1`);
    assert.equal((ascending.body.messages as { item_hash: string }[])[0]?.item_hash, posts[0]?.item_hash);
  });

  it('walks a cursor to the end', async () => {
    const seen: string[] = [];
    let cursor = '';
    for (;;) {
      const res = await get(`/api/v0/messages.json?channels=READ&pagination=2&cursor=${cursor}`);
      seen.push(...(res.body.messages as { item_hash: string }[]).map((m) => m.item_hash));
      if (!res.body.has_more) break;
      cursor = String(res.body.next_cursor);
    }
    assert.deepEqual(seen, [...posts].reverse().map((m) => m.item_hash));
  });

  it('filters by content type, tags, dates and hashes, and drops content on request', async () => {
    const odd = await get('/api/v0/messages.json?contentTypes=odd&channels=READ');
    assert.equal(odd.body.pagination_total, 2);
    const tagged = await get('/api/v0/messages.json?tags=t2,t3');
    assert.equal(tagged.body.pagination_total, 2);
    const dated = await get('/api/v0/messages.json?channels=READ&startDate=1700000001&endDate=1700000003');
    assert.equal(dated.body.pagination_total, 2);
    const byHash = await get(`/api/v0/messages.json?hashes=${posts[0]?.item_hash}&excludeContent=true`);
    const [only] = byHash.body.messages as Json[];
    assert.equal(only?.item_hash, posts[0]?.item_hash);
    assert.ok(!('content' in (only ?? {})));
    const unknown = await get(`/api/v0/messages.json?hashes=${sha256Hex('unknown')}`);
    assert.deepEqual(unknown.body.messages, []);
    const bad = await get('/api/v0/messages.json?pagination=abc');
    assert.equal(bad.status, 422);
    const hashesOnly = await get('/api/v0/messages/hashes?channels=READ&pagination=0');
    assert.equal((hashesOnly.body.hashes as string[]).length, 5);
  });

  it('serves aggregates with info, value only, and 404 for unknown keys', async () => {
    const full = await get(`/api/v0/aggregates/${bob.address.toLowerCase()}.json?keys=prefs&with_info=true`);
    assert.equal(full.status, 200);
    assert.equal(full.body.address, bob.address.toLowerCase());
    assert.deepEqual(full.body.data, { prefs: { theme: 'dark', lang: 'fr' } });
    const info = (full.body.info as Record<string, Json>).prefs;
    assert.equal(typeof info?.original_item_hash, 'string');
    const value = await get(`/api/v0/aggregates/${bob.address}.json?keys=prefs&value_only=true`);
    assert.deepEqual(value.body, { theme: 'dark', lang: 'fr' });
    const missing = await get(`/api/v0/aggregates/${bob.address}.json?keys=nothing`);
    assert.equal(missing.status, 404);
    const list = await get('/api/v0/aggregates.json?keys=prefs');
    assert.equal((list.body.aggregates as Json[]).length, 1);
  });

  it('serves v1 posts', async () => {
    const res = await get(`/api/v1/posts.json?addresses=${alice.address}&types=even`);
    const list = res.body.posts as Json[];
    assert.equal(list.length, 3);
    assert.equal(typeof list[0]?.created, 'string');
    assert.equal(list[0]?.original_type, 'even');
  });

  it("answers the content route with a post's payload", async () => {
    const content = await get(`/api/v0/messages/${posts[1]?.item_hash}/content`);
    assert.deepEqual(content.body, { i: 1, tags: ['t1'] });
  });

  it('describes stored files by message, by ref and by hash', async () => {
    const client = new AuthenticatedAlephHttpClient(importAccountFromPrivateKey(`0x${'11'.repeat(32)}`), ccn.url);
    const bytes = new TextEncoder().encode('versioned file v1');
    const store = await client.createStore({ fileObject: new Blob([bytes]), storageEngine: 'storage' as never, sync: true });
    const byMessage = await get(`/api/v0/storage/by-message-hash/${store.item_hash}`);
    assert.equal(byMessage.body.file_hash, sha256Hex(bytes));
    assert.equal(byMessage.body.size, bytes.length);
    const metadata = await get(`/api/v0/storage/metadata/${sha256Hex(bytes)}`);
    assert.deepEqual({ ...metadata.body, download_url: undefined }, { file_hash: sha256Hex(bytes), type: 'file', size: bytes.length, download_url: undefined });
    const base64 = await get(`/api/v0/storage/${sha256Hex(bytes)}`);
    assert.equal(Buffer.from(String(base64.body.content), 'base64').toString(), 'versioned file v1');
    assert.equal((await get(`/api/v0/storage/raw/${sha256Hex('nothing')}`)).status, 404);

    // File tags: the latest STORE per (owner, ref) wins.
    const v2 = new TextEncoder().encode('versioned file v2');
    const form = new FormData();
    form.append('file', new Blob([v2]), 'blob');
    assert.equal((await fetch(`${ccn.url}/api/v0/storage/add_file`, { method: 'POST', body: form })).status, 200);
    await submit(buildInlineMessage(alice, 'STORE', { item_type: 'storage', item_hash: sha256Hex(bytes), ref: 'my-tag' }, { time: 1_700_000_200 }));
    await submit(buildInlineMessage(alice, 'STORE', { item_type: 'storage', item_hash: sha256Hex(v2), ref: 'my-tag' }, { time: 1_700_000_201 }));
    const byRef = await get(`/api/v0/storage/by-ref/${alice.address}/my-tag`);
    assert.equal(byRef.body.file_hash, sha256Hex(v2));
    assert.equal(byRef.body.ref, 'my-tag');
    assert.equal((await get(`/api/v0/storage/count/${sha256Hex(bytes)}`)).body, 2);
  });

  it('prices executables and estimates unsigned ones', async () => {
    const client = new AuthenticatedAlephHttpClient(importAccountFromPrivateKey(`0x${'22'.repeat(32)}`), ccn.url);
    const estimate = await client.programClient.getEstimatedCost({
      account: client.account,
      channel: 'TEST',
      entrypoint: 'main:app',
      programRef: 'cafe'.repeat(16),
      estimated_size_mib: 1,
    } as never);
    assert.equal(estimate.payment_type, 'hold');
    assert.equal(Number(estimate.cost), 400); // one compute unit, on demand, internet access doubles
    const notPriced = await get(`/api/v0/price/${posts[0]?.item_hash}`);
    assert.equal(notPriced.status, 400);
    const unknown = await get(`/api/v0/price/${sha256Hex('unknown')}`);
    assert.equal(unknown.status, 404);
  });

  it('reports balances from the indexer, zero for unknown addresses', async () => {
    const known = await get(`/api/v0/addresses/${alice.address}/balance`);
    assert.equal(known.body.balance, 1234.5);
    assert.deepEqual(known.body.details, { ETH: 1234.5 });
    const unknown = await get(`/api/v0/addresses/${bob.address}/balance`);
    assert.equal(unknown.status, 200);
    assert.equal(unknown.body.balance, 0);
    const list = await get('/api/v0/balances?min_balance=1000');
    assert.equal((list.body.balances as Json[]).length, 1);
  });

  it('serves version, public info and metrics', async () => {
    assert.equal(typeof (await get('/api/v0/version')).body.version, 'string');
    assert.ok(Array.isArray((await get('/api/v0/info/public.json')).body.node_multi_addresses));
    const metrics = await fetch(`${ccn.url}/metrics`);
    assert.match(await metrics.text(), /pyaleph_build_info/);
    const unknownRoute = await get('/api/v0/nothing-here');
    assert.equal(unknownRoute.status, 404);
    assert.equal((unknownRoute.body.error as Json).code, 'NOT_FOUND');
  });
});
