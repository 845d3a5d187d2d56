/**
 * The routes pyaleph serves that its clients (the Python SDK and CLI, the explorer, the console)
 * read, against a real CCN process on SQLite and PostgreSQL: shapes, parameters, pagination
 * (page and cursor), and errors (422 / 404, never a 5xx).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { buildInlineMessage, EthAccount, type AlephMessage } from '@aleph-nodes/protocol';
import { postgresSettings, startCcnProcess, type CcnProcess } from './helpers/ccn-process.ts';

type Json = Record<string, unknown>;

for (const engine of ['sqlite', 'postgres'] as const) {
  describe(`pyaleph routes (${engine})`, () => {
    let ccn: CcnProcess;
    const pgSchema = engine === 'postgres' ? postgresSettings() : undefined;
    const alice = EthAccount.generate();
    const bob = EthAccount.generate();
    const carol = EthAccount.generate();
    const posts: AlephMessage[] = [];
    let aggregate: AlephMessage;
    let store: AlephMessage;
    let fileHash = '';
    const T0 = 1_700_000_000;

    const submit = async (message: AlephMessage): Promise<{ status: number; body: Json }> => {
      const res = await fetch(`${ccn.url}/api/v0/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ sync: true, message }),
      });
      return { status: res.status, body: (await res.json()) as Json };
    };
    const ok = async (message: AlephMessage): Promise<void> => {
      const res = await submit(message);
      assert.equal(res.status, 200, JSON.stringify(res.body));
    };
    const get = async (path: string): Promise<{ status: number; body: Json }> => {
      const res = await fetch(`${ccn.url}${path}`);
      const text = await res.text();
      return { status: res.status, body: text === '' ? {} : (JSON.parse(text) as Json) };
    };

    before(async () => {
      ccn = await startCcnProcess({ ...pgSchema?.settings });
      for (let i = 0; i < 5; i++) {
        const m = buildInlineMessage(alice, 'POST', { type: i % 2 ? 'odd' : 'even', content: { i } }, { channel: i < 3 ? 'CH-A' : 'CH-B', time: T0 + i });
        posts.push(m);
        await ok(m);
      }
      aggregate = buildInlineMessage(alice, 'AGGREGATE', { key: 'prefs', content: { theme: 'dark' } }, { channel: 'CH-A', time: T0 + 10 });
      await ok(aggregate);
      await ok(buildInlineMessage(bob, 'AGGREGATE', { key: 'prefs', content: { lang: 'fr' } }, { time: T0 + 11 }));
      // alice lets bob post `odd` posts on CH-A, carol anything.
      await ok(
        buildInlineMessage(
          alice,
          'AGGREGATE',
          { key: 'security', content: { authorizations: [{ address: bob.address, channels: ['CH-A'], post_types: ['odd'] }, { address: carol.address }] } },
          { time: T0 + 12 },
        ),
      );
      const form = new FormData();
      form.append('file', new Blob([new TextEncoder().encode('pyaleph routes file')]), 'f.txt');
      const upload = await fetch(`${ccn.url}/api/v0/storage/add_file`, { method: 'POST', body: form });
      assert.equal(upload.status, 200);
      fileHash = ((await upload.json()) as { hash: string }).hash;
      store = buildInlineMessage(alice, 'STORE', { item_type: 'storage', item_hash: fileHash }, { channel: 'CH-B', time: T0 + 20 });
      await ok(store);
    });
    after(async () => {
      await ccn?.stop();
      await pgSchema?.drop();
    });

    it('serves the aggregate list at /api/v0/aggregates and /aggregates.json alike', async () => {
      const a = await get(`/api/v0/aggregates?addresses=${alice.address}&keys=prefs`);
      const b = await get(`/api/v0/aggregates.json?addresses=${alice.address}&keys=prefs`);
      assert.equal(a.status, 200);
      assert.deepEqual(a.body, b.body);
      // One item per (owner, key), as pyaleph.
      const list = a.body.aggregates as Json[];
      assert.deepEqual(list.map((x) => [x.address, x.key, x.content, x.created, x.last_updated]), [
        [alice.address.toLowerCase(), 'prefs', { theme: 'dark' }, new Date((T0 + 10) * 1000).toISOString(), new Date((T0 + 10) * 1000).toISOString()],
      ]);
      const all = await get(`/api/v0/aggregates?addresses=${alice.address},${bob.address}&pagination=2&sortOrder=1`);
      assert.deepEqual((all.body.aggregates as Json[]).map((x) => [x.address, x.key]), [
        [alice.address.toLowerCase(), 'prefs'],
        [bob.address.toLowerCase(), 'prefs'],
      ]);
      assert.equal(all.body.pagination_total, 3);
      const page2 = await get(`/api/v0/aggregates?addresses=${alice.address},${bob.address}&pagination=2&sortOrder=1&page=2`);
      assert.deepEqual((page2.body.aggregates as Json[]).map((x) => [x.address, x.key]), [[alice.address.toLowerCase(), 'security']]);
      assert.equal(a.body.pagination_item, 'aggregates');
      assert.equal((await get('/api/v0/aggregates?pagination=0')).status, 422);
      assert.equal((await get('/api/v0/aggregates?sortBy=nonsense')).status, 422);
    });

    it("lists an address's files with page and cursor paging, 404 when it has none", async () => {
      const files = await get(`/api/v0/addresses/${alice.address}/files`);
      assert.equal(files.status, 200);
      assert.equal(files.body.address, alice.address);
      assert.equal(files.body.total_size, 'pyaleph routes file'.length);
      assert.equal(files.body.pagination_total, 1);
      assert.equal(files.body.pagination_per_page, 100);
      const [f] = files.body.files as Json[];
      assert.deepEqual({ ...f, created: undefined }, { file_hash: fileHash, size: 19, type: 'file', created: undefined, item_hash: store.item_hash });
      assert.equal(f?.created, new Date((T0 + 20) * 1000).toISOString());
      const cursor = await get(`/api/v0/addresses/${alice.address}/files?cursor=&pagination=1`);
      assert.equal(cursor.status, 200);
      assert.equal(cursor.body.next_cursor, null);
      assert.equal((cursor.body.files as Json[]).length, 1);
      assert.equal((await get(`/api/v0/addresses/${bob.address}/files`)).status, 404);
      assert.equal((await get(`/api/v0/addresses/${alice.address}/files?cursor=%%%`)).status, 422);
      assert.equal((await get(`/api/v0/addresses/${alice.address}/files?sortOrder=2`)).status, 422);
      const one = await get(`/api/v0/addresses/${alice.address}/files?file_hash=${fileHash}`);
      assert.equal((one.body.files as Json[]).length, 1);
    });

    it("lists an address's post types and channels, and every channel in use", async () => {
      assert.deepEqual((await get(`/api/v0/addresses/${alice.address}/post_types`)).body, { address: alice.address, post_types: ['even', 'odd'] });
      assert.deepEqual((await get(`/api/v0/addresses/${alice.address}/channels`)).body, { address: alice.address, channels: ['CH-A', 'CH-B'] });
      assert.deepEqual((await get(`/api/v0/addresses/${bob.address}/post_types`)).body, { address: bob.address, post_types: [] });
      const all = (await get('/api/v0/channels/list.json')).body.channels as string[];
      assert.ok(all.includes('CH-A') && all.includes('CH-B'), JSON.stringify(all));
      assert.equal((await get(`/api/v0/addresses/bad%20address/channels`)).status, 422);
      assert.equal((await get(`/api/v0/addresses/${'x'.repeat(200)}/channels`)).status, 414);
    });

    it('counts messages per address: stats v0 and v1 (page, cursor, sort, filter)', async () => {
      const v0 = await get(`/api/v0/addresses/stats.json?addresses[]=${alice.address}&addresses[]=${bob.address}`);
      assert.equal(v0.status, 200);
      const data = v0.body.data as Record<string, Json>;
      assert.deepEqual(data[alice.address], { messages: 8, aggregate: 2, forget: 0, instance: 0, post: 5, program: 0, store: 1 });
      assert.deepEqual(data[bob.address], { messages: 1, aggregate: 1, forget: 0, instance: 0, post: 0, program: 0, store: 0 });
      const v1 = await get('/api/v1/addresses/stats.json?sortBy=post&pagination=1');
      assert.equal(v1.status, 200);
      assert.deepEqual(Object.keys(v1.body.data as Json), [alice.address]);
      assert.equal(v1.body.pagination_total, 2);
      assert.equal(v1.body.pagination_item, 'addresses');
      const c1 = await get('/api/v1/addresses/stats.json?sortBy=total&sortOrder=1&cursor=&pagination=1');
      assert.deepEqual(Object.keys(c1.body.data as Json), [bob.address]);
      const c2 = await get(`/api/v1/addresses/stats.json?sortBy=total&sortOrder=1&pagination=1&cursor=${String(c1.body.next_cursor)}`);
      assert.deepEqual(Object.keys(c2.body.data as Json), [alice.address]);
      assert.equal(c2.body.next_cursor, null);
      const filtered = await get(`/api/v1/addresses/stats.json?addressContains=${bob.address.slice(2, 12).toUpperCase()}`);
      assert.deepEqual(Object.keys(filtered.body.data as Json), [bob.address]);
      assert.deepEqual((await get('/api/v1/addresses/stats.json?addressContains=%25_%25')).body.data, {});
      assert.equal((await get('/api/v1/addresses/stats.json?sortBy=nonsense')).status, 422);
      assert.equal((await get(`/api/v1/addresses/stats.json?addressContains=${'a'.repeat(67)}`)).status, 422);
    });

    it('serves granted and received authorizations with filters and pagination', async () => {
      const granted = await get(`/api/v0/authorizations/granted/${alice.address}.json`);
      assert.equal(granted.status, 200);
      assert.deepEqual(granted.body.authorizations, { [bob.address]: [{ channels: ['CH-A'], post_types: ['odd'] }], [carol.address]: [{}] });
      assert.equal(granted.body.pagination_total, 2);
      assert.equal(granted.body.pagination_item, 'authorizations');
      const filtered = await get(`/api/v0/authorizations/granted/${alice.address}.json?channels=CH-Z`);
      // carol's entry has no channel restriction: it matches any channel filter (pyaleph).
      assert.deepEqual(Object.keys(filtered.body.authorizations as Json), [carol.address]);
      const paged = await get(`/api/v0/authorizations/granted/${alice.address}.json?pagination=1&page=2`);
      assert.equal(Object.keys(paged.body.authorizations as Json).length, 1);
      const received = await get(`/api/v0/authorizations/received/${bob.address}.json`);
      assert.deepEqual(received.body.authorizations, { [alice.address.toLowerCase()]: [{ channels: ['CH-A'], post_types: ['odd'] }] });
      assert.equal((await get(`/api/v0/authorizations/received/${bob.address}.json?granter=0xdead`)).body.pagination_total, 0);
      assert.equal((await get(`/api/v0/authorizations/granted/${alice.address}.json?pagination=501`)).status, 422);
    });

    it('serves /messages/{hash}/content for every type; 422 unless processed, 404 when unknown', async () => {
      assert.deepEqual((await get(`/api/v0/messages/${posts[1]?.item_hash}/content`)).body, { i: 1 });
      const agg = (await get(`/api/v0/messages/${aggregate.item_hash}/content`)).body;
      assert.equal(agg.key, 'prefs');
      assert.deepEqual(agg.content, { theme: 'dark' });
      const st = (await get(`/api/v0/messages/${store.item_hash}/content`)).body;
      assert.equal(st.item_hash, fileHash);
      assert.equal(st.item_type, 'storage');
      assert.equal((await get(`/api/v0/messages/${'ab'.repeat(32)}/content`)).status, 404);
      const refused = buildInlineMessage(bob, 'POST', { type: 'even', content: {} }, { address: alice.address, channel: 'CH-A' });
      assert.equal((await submit(refused)).status, 422);
      assert.equal((await get(`/api/v0/messages/${refused.item_hash}/content`)).status, 422);
    });

    it('answers refused and forgotten messages with BroadcastStatus bodies (422, 410)', async () => {
      const refused = buildInlineMessage(bob, 'POST', { type: 'odd', content: {} }, { address: alice.address, channel: 'CH-B' });
      const r = await submit(refused);
      assert.equal(r.status, 422);
      assert.equal(r.body.message_status, 'rejected');
      assert.deepEqual(Object.keys(r.body.publication_status as Json).sort(), ['failed', 'status']);
      assert.equal((r.body.error as Json).code, 'MESSAGE_REJECTED');
      const doomed = buildInlineMessage(alice, 'POST', { type: 'doomed', content: {} }, { time: T0 + 30 });
      await ok(doomed);
      await ok(buildInlineMessage(alice, 'FORGET', { hashes: [doomed.item_hash] }, { time: T0 + 31 }));
      const again = await submit(doomed);
      assert.equal(again.status, 410);
      assert.equal(again.body.message_status, 'forgotten');
    });

    it('pages posts by cursor, sorts by time or tx-time, serves /posts/page/{n}.json', async () => {
      const seen: string[] = [];
      let cursor = '';
      for (let guard = 0; guard < 10; guard++) {
        const page = await get(`/api/v0/posts.json?addresses=${alice.address}&types=even,odd&pagination=2&cursor=${cursor}`);
        assert.equal(page.status, 200);
        assert.equal(page.body.pagination_total, undefined);
        seen.push(...(page.body.posts as { item_hash: string }[]).map((p) => p.item_hash));
        if (page.body.next_cursor === null) break;
        cursor = String(page.body.next_cursor);
      }
      assert.deepEqual(seen, posts.map((p) => p.item_hash).reverse());
      const v1 = await get(`/api/v1/posts.json?addresses=${alice.address}&types=even,odd&pagination=3&cursor=&sortOrder=1`);
      assert.deepEqual((v1.body.posts as { item_hash: string }[]).map((p) => p.item_hash), posts.slice(0, 3).map((p) => p.item_hash));
      assert.equal(typeof v1.body.next_cursor, 'string');
      const tx = await get(`/api/v0/posts.json?addresses=${alice.address}&types=even,odd&sortBy=tx-time&pagination=1`);
      assert.equal(tx.status, 200);
      assert.equal((await get('/api/v0/posts.json?sortBy=tx-time&cursor=')).status, 422);
      assert.equal((await get('/api/v0/posts.json?sortBy=size')).status, 422);
      assert.equal((await get('/api/v0/posts.json?cursor=nonsense')).status, 422);
      const page2 = await get(`/api/v0/posts/page/2.json?addresses=${alice.address}&types=even,odd&pagination=2`);
      assert.deepEqual((page2.body.posts as { item_hash: string }[]).map((p) => p.item_hash), [posts[2]?.item_hash, posts[1]?.item_hash]);
      assert.equal(page2.body.pagination_page, 2);
      assert.equal((await get('/api/v1/posts/page/0.json')).status, 422);
    });

    it('serves contentFormat=headers with the per-type subset', async () => {
      const res = await get(`/api/v0/messages.json?addresses=${alice.address}&contentFormat=headers&pagination=50`);
      const byHash = new Map((res.body.messages as { item_hash: string; content: Json }[]).map((m) => [m.item_hash, m.content]));
      assert.deepEqual(byHash.get(posts[0]!.item_hash), { address: alice.address, type: 'even' });
      assert.deepEqual(byHash.get(aggregate.item_hash), { address: alice.address, key: 'prefs' });
      assert.deepEqual(byHash.get(store.item_hash), { address: alice.address, item_hash: fileHash });
      const none = await get(`/api/v0/messages.json?addresses=${alice.address}&contentFormat=none&pagination=1`);
      assert.equal((none.body.messages as Json[])[0]?.content, undefined);
      assert.equal((await get('/api/v0/messages.json?contentFormat=partial')).status, 422);
    });

    it('applies the websocket startDate to the history only', async () => {
      const socket = new WebSocket(`${ccn.url.replace('http', 'ws')}/api/ws0/messages?addresses=${carol.address}&history=10&startDate=${T0 + 100}`);
      const frames: Json[] = [];
      socket.on('message', (data: Buffer) => frames.push(JSON.parse(data.toString('utf8')) as Json));
      await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
      try {
        // Older than startDate: not in the history (there is none yet) but pushed live.
        const old = buildInlineMessage(carol, 'POST', { type: 'old', content: {} }, { time: T0 + 50 });
        await ok(old);
        for (;;) {
          if (frames.some((f) => f.item_hash === old.item_hash)) break;
          await new Promise((r) => setTimeout(r, 50));
        }
      } finally {
        socket.close();
      }
      // The same message is left out of a new socket's history by startDate.
      const second = new WebSocket(`${ccn.url.replace('http', 'ws')}/api/ws0/messages?addresses=${carol.address}&history=10&startDate=${T0 + 100}`);
      const later: Json[] = [];
      second.on('message', (data: Buffer) => later.push(JSON.parse(data.toString('utf8')) as Json));
      await new Promise((resolve, reject) => second.once('open', resolve).once('error', reject));
      const marker = buildInlineMessage(carol, 'POST', { type: 'marker', content: {} });
      await ok(marker);
      for (;;) {
        if (later.some((f) => f.item_hash === marker.item_hash)) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      second.close();
      assert.deepEqual(later.map((f) => f.item_hash), [marker.item_hash]);
    });

    it("serves /metrics.json with every field of pyaleph's Metrics and /api/v0/storage/limits.json", async () => {
      const metrics = (await get('/metrics.json')).body;
      const build = metrics.pyaleph_build_info as Json;
      assert.equal(typeof build.version, 'string');
      assert.equal(typeof build.python_version, 'string');
      for (const field of [
        'pyaleph_status_peers_total',
        'pyaleph_status_sync_messages_total',
        'pyaleph_status_sync_permanent_files_total',
        'pyaleph_status_sync_pending_messages_total',
        'pyaleph_status_sync_pending_txs_total',
        'pyaleph_processing_pending_messages_aggregate_tasks',
        'pyaleph_ws_messages_connections_max',
        'pyaleph_store_fetch_storage_duration_ms_sum',
      ]) {
        assert.equal(typeof metrics[field], 'number', field);
      }
      for (const field of ['pyaleph_status_chain_eth_last_committed_height', 'pyaleph_status_sync_messages_reference_total', 'pyaleph_processing_pending_messages_seen_ids_total']) {
        assert.ok(field in metrics, field);
      }
      assert.ok((metrics.pyaleph_status_sync_permanent_files_total as number) >= 1);
      const limits = (await get('/api/v0/storage/limits.json')).body;
      assert.deepEqual(Object.keys(limits).sort(), ['ipfs', 'storage']);
      assert.equal((limits.storage as Json).max_file_size, 100 * 1024 * 1024);
      assert.equal((limits.storage as Json).max_unauthenticated_upload_file_size, 25 * 1024 * 1024);
      assert.deepEqual(Object.keys(limits.ipfs as Json).sort(), ['max_unauthenticated_upload_file_size', 'max_upload_car_size', 'max_upload_file_size']);
    });

    it('lists the programs triggered by messages at /api/v0/programs/on/message', async () => {
      const subscriptions = [{ sender: alice.address, channel: 'CH-A' }];
      const program = (on: Record<string, unknown>, time: number) =>
        buildInlineMessage(alice, 'PROGRAM', {
          type: 'vm-function',
          allow_amend: false,
          on,
          runtime: { ref: store.item_hash, use_latest: true, comment: 'test runtime' },
          code: { encoding: 'zip', entrypoint: 'main:app', ref: store.item_hash, use_latest: false },
        }, { time });
      const triggered = program({ http: false, message: subscriptions }, T0 + 40);
      await ok(triggered);
      await ok(program({ http: true }, T0 + 41));
      const res = await get('/api/v0/programs/on/message?sort_order=1');
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, [{ item_hash: triggered.item_hash, content: { on: { message: subscriptions } } }]);
      assert.equal((await get('/api/v0/programs/on/message?sort_order=0')).status, 422);
    });
  });
}
