/**
 * The scoring loop on a real store and pipeline: recorded probes become signed metrics posts,
 * each finished score period a signed scores post computed from them, which the registry applies.
 * Metrics from an address that is not a monitor are ignored with the reason logged.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { buildInlineMessage, EthAccount } from '@aleph-nodes/protocol';
import { createLogger, silentLogger } from '@aleph-nodes/service';
import { ccnConfig } from '../config.ts';
import { MessageProcessor } from '../processing/processor.ts';
import { RegistryService } from '../registry/registry-service.ts';
import { openTestStores, type TestStores } from '../testing/engines.ts';
import { until } from '../testing/until.ts';
import { ScoringService } from './service.ts';

const TAG = 'unit';

describe('ScoringService', () => {
  let t: TestStores;
  let processor: MessageProcessor;
  const node = EthAccount.generate();
  before(async () => {
    t = await openTestStores('sqlite');
    processor = new MessageProcessor(t.stores, ccnConfig({ dataDir: t.dataDir }), silentLogger());
    processor.start();
  });
  after(async () => {
    await processor.stop();
    await t.dispose();
  });

  async function submit(message: ReturnType<typeof buildInlineMessage>): Promise<void> {
    await processor.submit(message);
    assert.equal(await processor.waitFor(message.item_hash, 10_000), 'processed');
  }

  it('publishes metrics, then scores the registry applies; ignores metrics of non-monitors', async () => {
    const registry = new RegistryService(t.stores.messages, node.address, {
      tag: TAG, maxLinkedCrns: 3, ccnOwnerMinBalance: 0, stakerMinBalance: 0, ccnActivationStake: 0, balanceIndexers: [], scoresSenders: [node.address],
    });
    processor.events.on('processed', (row) => registry.onProcessed(row));
    const create = buildInlineMessage(EthAccount.generate(), 'POST', {
      type: 'corechan-operation',
      content: { action: 'create-resource-node', tags: ['create-resource-node', TAG], details: { name: 'crn', address: 'http://crn.test', type: 'compute' } },
    });
    await submit(create);
    const crn = create.item_hash;
    // Probe rounds every 0.1 s over the next 4 s: the CRN answers in 0.02 s, version 1.14.0.
    const start = Date.now() / 1000;
    const rows = [];
    for (let i = 0; i < 40; i++) {
      for (const check of ['version', 'login', 'status', 'usage']) {
        rows.push({ node_hash: crn, check, time: start + i * 0.1, latency: 0.02, ok: 1, version: check === 'version' ? '1.14.0' : null, error: null, url: 'http://crn.test' });
      }
    }
    await t.stores.probes.insert(rows);

    const logs: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        logs.push(chunk.toString());
        done();
      },
    });
    const service = new ScoringService(
      { probes: t.stores.probes, messages: t.stores.messages, processor, registry, account: node, server: () => 'http://ccn.test', clock: () => Date.now() / 1000, log: createLogger({ name: 'scoring', level: 'info', destination: sink }) },
      { metricsIntervalSeconds: 0.5, scorePeriodSeconds: 1, lagSeconds: 0.2, monitors: [node.address], tag: TAG, syncTimeoutMs: 10_000 },
    );
    service.start();
    // A stranger's metrics claiming the CRN is perfect, published within the scored periods: must not count.
    const stranger = EthAccount.generate();
    await submit(
      buildInlineMessage(stranger, 'POST', {
        type: 'aleph-network-metrics',
        content: { version: '1.0', tags: [TAG], metrics: { ccn: [], crn: [{ node_id: crn, measured_at: Date.now() / 1000, version: '1.0.0', base_latency: 0, full_check_latency: 0 }] } },
      }),
    );
    try {
      let scoreCount = 0;
      await until(() => {
        void t.stores.messages
          .list({ types: ['POST'], statuses: ['processed'], contentTypes: ['aleph-scoring-scores'] }, { perPage: 0, page: 1, sortOrder: 1 })
          .then((r) => (scoreCount = r.length));
        return scoreCount >= 2;
      }, 'two score posts', 20_000);
    } finally {
      await service.stop();
    }
    const metrics = await t.stores.messages.list({ types: ['POST'], statuses: ['processed'], contentTypes: ['aleph-network-metrics'], senders: [node.address] }, { perPage: 0, page: 1, sortOrder: 1 });
    assert.ok(metrics.length >= 2);
    assert.ok(metrics.every((m) => m.channel === 'aleph-scoring'));
    const scores = await t.stores.messages.list({ types: ['POST'], statuses: ['processed'], contentTypes: ['aleph-scoring-scores'] }, { perPage: 0, page: 1, sortOrder: 1 });
    const content = (JSON.parse(scores[0]?.content ?? '{}') as { content: { version: string; tags: string[]; period: { from_date: number; to_date: number }; scores: { crn: { node_id: string; total_score: number }[] } } }).content;
    assert.equal(content.version, '1.1');
    assert.deepEqual(content.tags, [TAG]);
    assert.equal(content.period.to_date - content.period.from_date, 1);
    assert.equal(content.scores.crn[0]?.node_id, crn);
    // base (login) p25 = p95 = 0.02 s → 1 − 0.02/2 = 0.99 twice; full check (status) 0.02 s → 1 − 0.02/4 = 0.995
    // performance = (0.99 × 0.99 × 0.995)^(1/3); version 1; total = sqrt(performance)
    const expected = Math.sqrt((0.99 * 0.99 * 0.995) ** (1 / 3));
    assert.ok(Math.abs((content.scores.crn[0]?.total_score ?? 0) - expected) < 1e-9);
    // The registry applied the latest score post.
    const { value } = await registry.snapshot();
    assert.ok(Math.abs((value.resource_nodes[0]?.score ?? 0) - expected) < 1e-9);
    assert.ok(logs.some((l) => l.includes(`Metrics from an address that is not a monitor (${stranger.address})`)), 'the forged metrics are logged as ignored');
  });
});
