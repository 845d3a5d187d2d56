/** The serving side of sync: bounded pages and batches, clear errors, no forgotten content served. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildInlineMessage, EthAccount } from '@aleph-nodes/protocol';
import { openTestApi, type TestApi } from '../testing/api.ts';

const account = EthAccount.generate();

describe('sync routes', () => {
  let api: TestApi;
  const hashes: string[] = [];
  before(async () => {
    api = await openTestApi({ syncPageSize: 5, syncBatchSize: 4, syncMaxBatchBytes: 64 * 1024 });
    for (let i = 0; i < 8; i++) {
      // Big ones, so that the byte bound of a batch is reached: ~30 KB each.
      const m = buildInlineMessage(account, 'POST', { type: 'test', content: { i, pad: 'x'.repeat(30_000) } }, { time: 1_700_000_000 + i });
      hashes.push(m.item_hash);
      await api.processor.submit(m);
    }
    for (;;) {
      if ((await api.stores.messages.countByStatus()).processed === 8) break;
      await new Promise((r) => setTimeout(r, 20));
    }
  });
  after(async () => {
    await api?.dispose();
  });

  const get = async (url: string): Promise<{ status: number; body: any }> => {
    const res = await api.app.inject({ method: 'GET', url });
    return { status: res.statusCode, body: res.json() };
  };

  it('pages the sequence within the configured size', async () => {
    const first = await get('/api/v0/sync/messages?after=0&limit=1000');
    assert.equal(first.status, 200);
    assert.equal(first.body.messages.length, 5);
    assert.equal(first.body.next, first.body.messages[4].seq);
    assert.equal(first.body.last_seq, 8);
    const rest = await get(`/api/v0/sync/messages?after=${first.body.next}`);
    assert.equal(rest.body.messages.length, 3);
    const none = await get('/api/v0/sync/messages?after=8');
    assert.deepEqual(none.body, { messages: [], next: 8, last_seq: 8 });
    const ahead = await get('/api/v0/sync/messages?after=50');
    assert.deepEqual(ahead.body, { messages: [], next: 8, last_seq: 8 });
  });

  it('answers bad parameters with 422', async () => {
    for (const url of ['/api/v0/sync/messages?after=-1', '/api/v0/sync/messages?after=abc', '/api/v0/sync/messages?limit=1e3', '/api/v0/sync/messages/batch', '/api/v0/sync/messages/batch?hashes=../../etc', `/api/v0/sync/messages/batch?hashes=${hashes.slice(0, 5).join(',')}`]) {
      const res = await get(url);
      assert.equal(res.status, 422, url);
      assert.equal(res.body.error.code, 'INVALID_PARAMETER', url);
    }
  });

  it('serves envelopes within the byte bound; the rest is left to ask again', async () => {
    const res = await get(`/api/v0/sync/messages/batch?hashes=${hashes.slice(0, 4).join(',')}`);
    assert.equal(res.status, 200);
    assert.equal(res.body.messages.length, 2, '64 KiB holds two 30 KB envelopes');
    assert.deepEqual(res.body.missing, []);
    assert.deepEqual(res.body.messages[0].item_hash, hashes[0]);
    assert.equal(res.body.messages[0].content, undefined, 'only the signed envelope');
  });

  it('lists a forgotten message but never serves its content; unknown hashes are missing', async () => {
    const forget = buildInlineMessage(account, 'FORGET', { hashes: [hashes[7]] });
    await api.processor.submit(forget);
    assert.equal(await api.processor.waitFor(forget.item_hash, 10_000), 'processed');
    const page = await get('/api/v0/sync/messages?after=7');
    assert.deepEqual(
      page.body.messages.map((e: { item_hash: string; status: string }) => [e.item_hash, e.status]),
      [
        [hashes[7], 'forgotten'],
        [forget.item_hash, 'processed'],
      ],
    );
    const unknown = 'e'.repeat(64);
    const res = await get(`/api/v0/sync/messages/batch?hashes=${hashes[7]},${unknown}`);
    assert.deepEqual(res.body, { messages: [], forgotten: [hashes[7]], missing: [unknown] });
  });

  it('has no status without a running sync service', async () => {
    assert.equal((await get('/api/v0/sync/status')).status, 404);
  });
});
