/**
 * The real Python clients against a real CCN process, on SQLite and on PostgreSQL: aleph-sdk-python
 * (AuthenticatedAlephHttpClient with an ETHAccount) and the `aleph` CLI of aleph-client, both from
 * PyPI at pinned versions (scripts/setup-debian.sh). Each call parses our answers with the
 * clients' own pydantic models: a route or shape served wrongly fails here.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { postgresSettings, startCcnProcess, type CcnProcess } from '../ccn/helpers/ccn-process.ts';
import { eventually } from '../helpers/eventually.ts';
import { pythonClientsSkipReason, randomPrivateKeyHex, runAlephCli, runSdk, SDK_PREAMBLE } from './helpers/python.ts';

type Json = Record<string, unknown>;

const skip = pythonClientsSkipReason();

for (const engine of ['sqlite', 'postgres'] as const) {
  describe(`Python SDK and aleph CLI against a CCN (${engine})`, { skip, timeout: 600_000 }, () => {
    let ccn: CcnProcess;
    const pgSchema = engine === 'postgres' ? postgresSettings() : undefined;
    const key = randomPrivateKeyHex();
    let address = '';
    let postHash = '';
    let storeHash = '';
    let fileHash = '';
    const sdk = <T = Json>(body: string, env: Record<string, string> = {}): Promise<T> =>
      runSdk<T>(`${SDK_PREAMBLE}\nasync def main():\n${body.replace(/^/gm, '    ')}\nasyncio.run(main())\n`, { API: ccn.url, KEY: key, ...env });

    before(async () => {
      ccn = await startCcnProcess({ ...pgSchema?.settings });
      address = (await sdk<{ address: string }>(`out({"address": account().get_address()})`)).address;
    });
    after(async () => {
      await ccn?.stop();
      await pgSchema?.drop();
    });

    it('creates a post, amends it and reads it back (get_posts, get_posts_cursor)', async () => {
      const res = await sdk<Json>(`
async with AuthenticatedAlephHttpClient(account=account(), api_server=os.environ["API"]) as c:
    post, st = await c.create_post(post_content={"title": "v1"}, post_type="py-post", channel="PYCOMPAT", sync=True)
    amend, st2 = await c.create_post(post_content={"title": "v2"}, post_type="amend", ref=post.item_hash, channel="PYCOMPAT", sync=True)
    page = await c.get_posts(post_filter=PostFilter(addresses=[account().get_address()], types=["py-post"]), ignore_invalid_messages=False)
    second, _ = await c.create_post(post_content={"title": "other"}, post_type="py-post-2", channel="PYCOMPAT", sync=True)
    cursor = await c.get_posts_cursor(post_filter=PostFilter(channels=["PYCOMPAT"]), page_size=1, ignore_invalid_messages=False)
    cursor2 = await c.get_posts_cursor(post_filter=PostFilter(channels=["PYCOMPAT"]), page_size=1, cursor=cursor.next_cursor, ignore_invalid_messages=False)
    out({"post": post.item_hash, "amend": amend.item_hash, "statuses": [st.value, st2.value],
         "posts": [p.model_dump(mode="json") for p in page.posts], "total": page.pagination_total,
         "cursor_posts": [p.original_item_hash for p in cursor.posts + cursor2.posts], "second": second.item_hash,
         "last_cursor": cursor2.next_cursor})
`);
      assert.deepEqual(res.statuses, ['processed', 'processed']);
      postHash = String(res.post);
      const posts = res.posts as Json[];
      assert.equal(res.total, 1);
      assert.equal(posts.length, 1);
      assert.equal(posts[0]?.original_item_hash, res.post);
      assert.equal(posts[0]?.item_hash, res.amend);
      assert.deepEqual(posts[0]?.content, { title: 'v2' });
      // Newest first, one per page, the amended post under its original hash.
      assert.deepEqual(res.cursor_posts, [res.second, res.post]);
      assert.equal(res.last_cursor, null);
    });

    it('creates aggregates and fetches them (fetch_aggregate, fetch_aggregates, list_aggregates)', async () => {
      const res = await sdk<Json>(`
async with AuthenticatedAlephHttpClient(account=account(), api_server=os.environ["API"]) as c:
    a = account().get_address()
    _, st1 = await c.create_aggregate(key="prefs", content={"theme": "dark"}, channel="PYCOMPAT", sync=True)
    _, st2 = await c.create_aggregate(key="prefs", content={"lang": "fr"}, channel="PYCOMPAT", sync=True)
    _, st3 = await c.create_aggregate(key="other", content={"n": 1}, channel="PYCOMPAT", sync=True)
    one = await c.fetch_aggregate(a, "prefs")
    many = await c.fetch_aggregates(a)
    listed = await c.list_aggregates(addresses=[a])
    out({"statuses": [st1.value, st2.value, st3.value], "one": one, "many": many, "listed": listed.model_dump(mode="json")})
`);
      assert.deepEqual(res.statuses, ['processed', 'processed', 'processed']);
      assert.deepEqual(res.one, { theme: 'dark', lang: 'fr' });
      assert.deepEqual(res.many, { prefs: { theme: 'dark', lang: 'fr' }, other: { n: 1 } });
      const listed = res.listed as { aggregates: { address: string; key: string; content: Json }[] };
      assert.deepEqual(listed.aggregates.map((a) => [a.address.toLowerCase(), a.key, a.content]).sort(), [
        [address.toLowerCase(), 'other', { n: 1 }],
        [address.toLowerCase(), 'prefs', { theme: 'dark', lang: 'fr' }],
      ]);
    });

    it('uploads a file with a STORE message and downloads it', async () => {
      const res = await sdk<Json>(`
async with AuthenticatedAlephHttpClient(account=account(), api_server=os.environ["API"]) as c:
    store, st = await c.create_store(file_content=b"hello from python", channel="PYCOMPAT", storage_engine="storage", sync=True)
    data = await c.download_file(store.content.item_hash)
    msg = await c.get_message(store.item_hash)
    out({"store": store.item_hash, "file": store.content.item_hash, "status": st.value, "data": data.decode(), "type": type(msg).__name__})
`);
      assert.equal(res.status, 'processed');
      assert.equal(res.data, 'hello from python');
      assert.equal(res.type, 'StoreMessage');
      storeHash = String(res.store);
      fileHash = String(res.file);
    });

    it('lists and gets messages with filters (get_messages, get_messages_cursor, get_message, get_message_status)', async () => {
      const res = await sdk<Json>(`
async with AlephHttpClient(api_server=os.environ["API"]) as c:
    a = account().get_address()
    posts = await c.get_messages(message_filter=MessageFilter(addresses=[a], message_types=[MessageType.post], channels=["PYCOMPAT"]), ignore_invalid_messages=False)
    aggs = await c.get_messages(message_filter=MessageFilter(addresses=[a], message_types=[MessageType.aggregate], content_keys=["prefs"]), ignore_invalid_messages=False)
    typed = await c.get_messages(message_filter=MessageFilter(content_types=["py-post"]), ignore_invalid_messages=False)
    by_hash = await c.get_messages(message_filter=MessageFilter(hashes=[os.environ["POST"]]), ignore_invalid_messages=False)
    cursor = await c.get_messages_cursor(message_filter=MessageFilter(addresses=[a]), page_size=2, ignore_invalid_messages=False)
    cursor2 = await c.get_messages_cursor(message_filter=MessageFilter(addresses=[a]), page_size=2, cursor=cursor.next_cursor, ignore_invalid_messages=False)
    msg = await c.get_message(os.environ["POST"])
    status = await c.get_message_status(os.environ["POST"])
    out({"posts": posts.pagination_total, "aggs": len(aggs.messages), "typed": [m.item_hash for m in typed.messages],
         "by_hash": [m.item_hash for m in by_hash.messages], "cursor": [m.item_hash for m in cursor.messages + cursor2.messages],
         "msg_type": type(msg).__name__, "msg_content": msg.content.content, "status": status.value})
`, { POST: postHash });
      assert.equal(res.posts, 3);
      assert.equal(res.aggs, 2);
      assert.deepEqual(res.typed, [postHash]);
      assert.deepEqual(res.by_hash, [postHash]);
      assert.equal((res.cursor as string[]).length, 4);
      assert.equal(new Set(res.cursor as string[]).size, 4);
      assert.equal(res.msg_type, 'PostMessage');
      assert.deepEqual(res.msg_content, { title: 'v1' });
      assert.equal(res.status, 'processed');
    });

    it("reads the account's files and stats (get_account_files, get_address_stats)", async () => {
      const res = await sdk<Json>(`
from aleph.sdk.query.filters import AddressesFilter
async with AlephHttpClient(api_server=os.environ["API"]) as c:
    a = account().get_address()
    files = await c.get_account_files(a)
    stats = await c.get_address_stats(filter=AddressesFilter(address_contains=a[2:12]))
    out({"files": files.model_dump(mode="json"), "stats": stats.model_dump(mode="json")})
`);
      const files = res.files as { total_size: number; files: { file_hash: string; item_hash: string; size: number; type: string }[] };
      assert.equal(files.files.length, 1);
      assert.equal(files.files[0]?.file_hash, fileHash);
      assert.equal(files.files[0]?.item_hash, storeHash);
      assert.equal(files.files[0]?.size, 'hello from python'.length);
      assert.equal(files.total_size, 'hello from python'.length);
      const stats = res.stats as { data: Record<string, { post: number; aggregate: number; store: number; messages: number }> };
      const mine = Object.entries(stats.data).find(([a]) => a.toLowerCase() === address.toLowerCase())?.[1];
      assert.ok(mine, JSON.stringify(stats));
      assert.equal(mine.post, 3);
      assert.equal(mine.aggregate, 3);
      assert.equal(mine.store, 1);
      assert.equal(mine.messages, 7);
    });

    it('aleph file list --json lists the STORE of the address', async () => {
      const res = await runAlephCli(['file', 'list', '--address', address, '--private-key', key, '--json'], ccn.url);
      assert.equal(res.code, 0, `${res.stdout}\n${res.stderr}`);
      const body = JSON.parse(res.stdout.slice(res.stdout.indexOf('{'))) as { files: { file_hash: string; item_hash: string }[] };
      assert.deepEqual(body.files.map((f) => [f.file_hash, f.item_hash]), [[fileHash, storeHash]]);
    });

    it('aleph message post, aggregate post/get, file upload/download', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'aleph-cli-'));
      try {
        const content = join(dir, 'content.json');
        writeFileSync(content, JSON.stringify({ hello: 'cli' }));
        const posted = await runAlephCli(['message', 'post', '--path', content, '--type', 'cli-post', '--channel', 'PYCOMPAT', '--private-key', key], ccn.url);
        assert.equal(posted.code, 0, `${posted.stdout}\n${posted.stderr}`);
        const message = JSON.parse(posted.stdout.slice(posted.stdout.indexOf('{'))) as { item_hash: string; content: Json };
        assert.deepEqual(message.content.content, { hello: 'cli' });
        // The CLI posts without waiting: poll until the node settles it.
        const settled = await eventually('the message to leave pending', 60_000, async () => {
          const body = (await (await fetch(`${ccn.url}/api/v0/messages/${message.item_hash}`)).json()) as Json;
          return body.status === 'pending' ? undefined : body.status;
        });
        assert.equal(settled, 'processed');

        const aggPost = await runAlephCli(['aggregate', 'post', 'cli-key', '{"n": 7}', '--sync', '--private-key', key], ccn.url);
        assert.equal(aggPost.code, 0, `${aggPost.stdout}\n${aggPost.stderr}`);
        const aggGet = await runAlephCli(['aggregate', 'get', 'cli-key', '--private-key', key], ccn.url);
        assert.equal(aggGet.code, 0, `${aggGet.stdout}\n${aggGet.stderr}`);
        assert.deepEqual(JSON.parse(aggGet.stdout.slice(aggGet.stdout.indexOf('{'))), { n: 7 });

        const file = join(dir, 'upload.txt');
        writeFileSync(file, 'uploaded by the aleph CLI');
        const up = await runAlephCli(['file', 'upload', file, '--storage-engine', 'storage', '--channel', 'PYCOMPAT', '--private-key', key], ccn.url);
        assert.equal(up.code, 0, `${up.stdout}\n${up.stderr}`);
        const hash = createHash('sha256').update('uploaded by the aleph CLI').digest('hex');
        const out = join(dir, 'out');
        const down = await runAlephCli(['file', 'download', hash, '--output-path', out], ccn.url);
        assert.equal(down.code, 0, `${down.stdout}\n${down.stderr}`);
        assert.equal(readFileSync(join(out, hash), 'utf8'), 'uploaded by the aleph CLI');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('aleph account balance reads the balance route', async () => {
      const res = await runAlephCli(['account', 'balance', '--address', address, '--private-key', key], ccn.url);
      assert.equal(res.code, 0, `${res.stdout}\n${res.stderr}`);
      assert.match(res.stdout, new RegExp(address, 'i'));
      assert.match(res.stdout, /Balance: 0/);
      assert.match(res.stdout, /Credits: 0/);
      // The shape the SDK parses.
      const sdkRes = await sdk<Json>(`
async with AlephHttpClient(api_server=os.environ["API"]) as c:
    b = await c.get_balances(account().get_address())
    out(b.model_dump(mode="json"))
`);
      assert.equal(String(sdkRes.address).toLowerCase(), address.toLowerCase());
      assert.equal(Number(sdkRes.balance), 0); // a Decimal in the SDK's model
      assert.equal(Number(sdkRes.locked_amount), 0);
    });

    it('delegates with add_authorization; the delegate posts as the owner (get_authorizations, received authorizations)', async () => {
      const delegateKey = randomPrivateKeyHex();
      const res = await sdk<Json>(`
from aleph.sdk.types import Authorization
delegate = ETHAccount(private_key=bytes.fromhex(os.environ["DELEGATE"]))
owner = account()
async with AuthenticatedAlephHttpClient(account=owner, api_server=os.environ["API"]) as c:
    await c.add_authorization(Authorization(address=delegate.get_address(), channels=["PYCOMPAT"], types=[MessageType.post]))
    for _ in range(600):
        auths = await c.get_authorizations(owner.get_address())
        if auths:
            break
        await asyncio.sleep(0.1)
async with AuthenticatedAlephHttpClient(account=delegate, api_server=os.environ["API"]) as d:
    post, st = await d.create_post(post_content={"by": "delegate"}, post_type="delegated", channel="PYCOMPAT", address=owner.get_address(), sync=True)
    # Outside the channels granted: refused, and the SDK reads our BroadcastStatus body.
    from aleph.sdk.exceptions import InvalidMessageError
    try:
        await d.create_post(post_content={"by": "delegate"}, post_type="delegated", channel="ELSEWHERE", address=owner.get_address(), sync=True)
        refused = None
    except InvalidMessageError as e:
        refused = e.args[0]
out({"refused": refused, "auths": [a.model_dump(mode="json") for a in auths], "delegate": delegate.get_address(), "status": st.value, "post": post.item_hash})
`, { DELEGATE: delegateKey });
      const auths = res.auths as Json[];
      assert.equal(auths.length, 1);
      assert.equal(auths[0]?.address, res.delegate);
      assert.deepEqual(auths[0]?.channels, ['PYCOMPAT']);
      assert.equal(res.status, 'processed');
      const refused = res.refused as Json;
      assert.equal(refused.message_status, 'rejected');
      assert.equal((refused.error as Json).code, 'MESSAGE_REJECTED');
      const posted = (await (await fetch(`${ccn.url}/api/v0/messages/${String(res.post)}`)).json()) as { message: { content: { address: string } } };
      assert.equal(posted.message.content.address, address);
      const received = (await (await fetch(`${ccn.url}/api/v0/authorizations/received/${String(res.delegate)}.json`)).json()) as { authorizations: Record<string, Json[]> };
      assert.deepEqual(Object.keys(received.authorizations), [address.toLowerCase()]);
      assert.deepEqual(received.authorizations[address.toLowerCase()]?.[0]?.channels, ['PYCOMPAT']);
    });
  });
}
