/**
 * The sync service's scheduling: a peer the directory announces (new, or seen again after a
 * reconnection) is pulled at once, whatever the interval; the status shows its cursor and lag.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildInlineMessage, EthAccount } from '@aleph-nodes/protocol';
import { silentLogger } from '@aleph-nodes/service';
import { ccnConfig } from '../config.ts';
import { PeerDirectory } from '../network/peers.ts';
import { MessageProcessor } from '../processing/processor.ts';
import { openTestApi, type TestApi } from '../testing/api.ts';
import { openTestStores, type TestStores } from '../testing/engines.ts';
import { SyncService } from './service.ts';

const account = EthAccount.generate();
const post = (i: number) => buildInlineMessage(account, 'POST', { type: 'svc', content: { i } });

async function settle(p: MessageProcessor, hash: string): Promise<void> {
  assert.equal(await p.waitFor(hash, 10_000), 'processed');
}

describe('sync service', () => {
  let a: TestApi;
  let b: TestStores;
  let processor: MessageProcessor;
  let sync: SyncService;
  let url: string;
  const peers = new PeerDirectory();
  before(async () => {
    a = await openTestApi();
    url = await a.app.listen({ host: '127.0.0.1', port: 0 });
    b = await openTestStores('sqlite');
    const config = ccnConfig({ dataDir: b.dataDir, syncIntervalSeconds: 3600 });
    processor = new MessageProcessor(b.stores, config, silentLogger());
    processor.start();
    sync = new SyncService({ stores: b.stores, processor, config, peers, selfUrl: () => 'http://127.0.0.1:1', log: silentLogger(), clock: () => Date.now() / 1000 });
    sync.start();
  });
  after(async () => {
    await sync?.stop();
    await processor?.stop();
    await b?.dispose();
    await a?.dispose();
  });

  it('pulls a peer as soon as it is announced, and again when it reconnects', async () => {
    const first = post(1);
    await a.processor.submit(first);
    await settle(a.processor, first.item_hash);
    peers.upsert({ httpUrl: url, multiaddrs: [], source: 'announce' });
    await settle(processor, first.item_hash);

    const second = post(2);
    await a.processor.submit(second);
    await settle(a.processor, second.item_hash);
    // The interval is an hour: only the announcement of a reconnection can bring it now.
    peers.upsert({ httpUrl: url, multiaddrs: [], source: 'announce' });
    await settle(processor, second.item_hash);

    const status = await sync.status();
    const peer = status.peers.find((p) => p.url === url);
    assert.ok(peer);
    assert.equal(peer.cursor, 2);
    assert.equal(peer.lag, 0);
    assert.equal(peer.messages, 2);
    assert.equal(peer.score, 0);
  });

  it('never pulls from itself', async () => {
    peers.upsert({ httpUrl: 'http://127.0.0.1:1', multiaddrs: [], source: 'config' });
    const status = await sync.status();
    assert.equal(status.peers.some((p) => p.url === 'http://127.0.0.1:1'), false);
  });
});
