/**
 * The puller against a real serving node (the API app on loopback): pages and batches are
 * bounded as configured, the cursor moves past what was stored, a second round fetches nothing,
 * and a message the puller already holds is never fetched.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildInlineMessage, EthAccount } from '@aleph-nodes/protocol';
import { silentLogger } from '@aleph-nodes/service';
import { ccnConfig } from '../config.ts';
import { MessageProcessor } from '../processing/processor.ts';
import { openTestApi, type TestApi } from '../testing/api.ts';
import { openTestStores, type TestStores } from '../testing/engines.ts';
import { PeerScore } from './peer-score.ts';
import { emptyStats, pullRound, type PullContext, type PullPeer } from './puller.ts';
import { SyncRepo } from './repo.ts';

const account = EthAccount.generate();
const COUNT = 250;

describe('sync puller', () => {
  let a: TestApi;
  let b: TestStores;
  let processor: MessageProcessor;
  let url: string;
  before(async () => {
    a = await openTestApi();
    url = await a.app.listen({ host: '127.0.0.1', port: 0 });
    for (let i = 0; i < COUNT; i++) await a.processor.submit(buildInlineMessage(account, 'POST', { type: 'test', content: { i } }, { time: 1_700_000_000 + i }));
    for (;;) {
      const counts = await a.stores.messages.countByStatus();
      if (counts.processed === COUNT) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    b = await openTestStores('sqlite');
    processor = new MessageProcessor(b.stores, ccnConfig({ dataDir: b.dataDir }), silentLogger());
    processor.start();
  });
  after(async () => {
    await processor?.stop();
    await b?.dispose();
    await a?.dispose();
  });

  const ctx = (): PullContext => ({
    repo: new SyncRepo(b.stores.db),
    processor,
    log: silentLogger(),
    pageSize: 100,
    batchSize: 30,
    maxPages: 10,
    limits: { timeoutMs: 5000, maxBytes: 1024 * 1024 },
    inflight: new Map(),
    nowMs: () => Date.now(),
  });

  it('pages, batches and stores everything, once', async () => {
    // One message already held here: it must not be fetched.
    const held = buildInlineMessage(account, 'POST', { type: 'test', content: { i: 0 } }, { time: 1_700_000_000 });
    await processor.submit(held);
    const peer: PullPeer = { url, score: new PeerScore({ baseMs: 1, maxMs: 1, banMs: 1 }), stats: emptyStats() };
    const first = await pullRound(ctx(), peer);
    assert.deepEqual(first, { caughtUp: true });
    assert.equal(peer.stats.pages, 3);
    assert.equal(peer.stats.messages, COUNT - 1);
    // 100 listed per page, minus the held one on the first: 99 → 4 batches, 100 → 4, 50 → 2.
    assert.equal(peer.stats.batches, 10);
    assert.equal(peer.stats.duplicates, 0);
    assert.equal(await new SyncRepo(b.stores.db).cursor(url), await new SyncRepo(a.stores.db).lastSeq());
    assert.equal(await b.stores.messages.count({}), COUNT);

    const second = await pullRound(ctx(), peer);
    assert.deepEqual(second, { caughtUp: true });
    assert.equal(peer.stats.pages, 4);
    assert.equal(peer.stats.batches, 10, 'nothing fetched again');
    assert.equal(peer.stats.messages, COUNT - 1);
  });

  it('stops after maxPages and says it is not caught up', async () => {
    const fresh = await openTestStores('sqlite');
    const p = new MessageProcessor(fresh.stores, ccnConfig({ dataDir: fresh.dataDir }), silentLogger());
    try {
      const peer: PullPeer = { url, score: new PeerScore({ baseMs: 1, maxMs: 1, banMs: 1 }), stats: emptyStats() };
      const c = { ...ctx(), repo: new SyncRepo(fresh.stores.db), processor: p, maxPages: 2 };
      assert.deepEqual(await pullRound(c, peer), { caughtUp: false });
      assert.equal(await fresh.stores.messages.count({}), 200);
      assert.deepEqual(await pullRound(c, peer), { caughtUp: true });
      assert.equal(await fresh.stores.messages.count({}), COUNT);
    } finally {
      await p.stop();
      await fresh.dispose();
    }
  });
});
