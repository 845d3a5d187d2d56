/**
 * Anti-entropy between real CCN processes: a CCN frozen with
 * SIGSTOP while 200 messages reach another has all of them after SIGCONT, processed with the
 * same statuses; two CCNs that each took different messages while apart (and a FORGET of one
 * they share) converge to the same set once they name each other; no message is fetched twice.
 * Peers come from `syncPeers` only: no P2P involved.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { buildInlineMessage, EthAccount } from '@aleph-nodes/protocol';
import { postgresSettings } from '../ccn/helpers/ccn-process.ts';
import { eventually } from '../helpers/eventually.ts';
import { netNode, peerOf, posts, sameMaps, statuses, submit, submitAll, syncStatus, type NetNode } from './helpers.ts';

const COUNT = Number(process.env.SYNC_TEST_COUNT ?? 200);

describe('sync: a frozen CCN catches up', () => {
  const nodes: NetNode[] = [];
  after(async () => {
    for (const n of nodes) await n.dispose();
  });

  it(`has all ${COUNT} messages after SIGCONT, processed, with the same statuses, each fetched once`, async () => {
    const [a, b] = [await netNode(), await netNode()];
    nodes.push(a, b);
    await a.start({ syncPeers: [b.url] });
    const frozen = await b.start({ syncPeers: [a.url] });
    frozen.signal('SIGSTOP');

    const channel = `SYNC-FROZEN-${Date.now()}`;
    const account = EthAccount.generate();
    const messages = posts(account, channel, COUNT, 'frozen');
    const submitted = Date.now();
    await submitAll(a.url, messages);
    const onA = await eventually('A to process everything', 120_000, async () => {
      const s = await statuses(a.url, channel);
      return s.size === COUNT && [...s.values()].every((v) => v === 'processed') ? s : undefined;
    });

    const ingest = COUNT / ((Date.now() - submitted) / 1000);
    const resumed = Date.now();
    frozen.signal('SIGCONT');
    const onB = await eventually('B to have every message processed', 180_000, async () => {
      const s = await statuses(b.url, channel);
      return s.size === COUNT && [...s.values()].every((v) => v === 'processed') ? s : undefined;
    });
    const seconds = (Date.now() - resumed) / 1000;
    assert.ok(sameMaps(onA, onB), 'same hashes and statuses');

    const view = peerOf(await syncStatus(b.url), a.url);
    assert.equal(view.messages, COUNT, 'each message fetched exactly once');
    assert.equal(view.duplicates, 0);
    assert.equal(view.lag, 0);
    assert.equal(view.score, 0);
    // A fetched nothing from B: B had nothing A lacked.
    assert.equal(peerOf(await syncStatus(a.url), b.url).messages, 0);
    console.log(
      `catch-up after SIGCONT: ${COUNT} messages in ${seconds.toFixed(2)} s = ${(COUNT / seconds).toFixed(0)} msg/s (${view.pages} pages, ${view.batches} batches, ${view.bytes} bytes); ` +
        `single-CCN ingest on A in the same run: ${ingest.toFixed(0)} msg/s`,
    );
  });
});

describe('sync: two CCNs converge after a partition', () => {
  const nodes: NetNode[] = [];
  let dropSchema: (() => Promise<void>) | undefined;
  after(async () => {
    for (const n of nodes) await n.dispose();
    await dropSchema?.();
  });

  it('each one takes the messages it lacks, a FORGET made on one side applies on both, and nothing is fetched twice', async () => {
    // One on SQLite, one on PostgreSQL: the sequence is stamped by each engine's own trigger.
    const pg = postgresSettings();
    dropSchema = pg.drop;
    const [c, d] = [await netNode(), await netNode(pg.settings)];
    nodes.push(c, d);
    const channel = `SYNC-PARTITION-${Date.now()}`;
    const account = EthAccount.generate();
    // Both hold the shared messages before the partition (a client sent them to both).
    const shared = posts(account, channel, 5, 'shared');
    await c.start();
    await d.start();
    await submitAll(c.url, shared);
    await submitAll(d.url, shared);
    // Apart: each takes its own messages, and C forgets one of the shared ones.
    const onlyC = posts(account, channel, 40, 'c');
    const onlyD = posts(account, channel, 60, 'd');
    await submitAll(c.url, onlyC);
    await submitAll(d.url, onlyD);
    const forget = buildInlineMessage(account, 'FORGET', { hashes: [shared[0]!.item_hash], reason: 'partition test' }, { channel });
    assert.equal(await submit(c.url, forget, true), 200);
    const total = 5 + 40 + 60 + 1;
    await eventually('both sides to settle alone', 60_000, async () => (await statuses(c.url, channel)).size === 46 && (await statuses(d.url, channel)).size === 65);

    // The partition heals: each one now names the other.
    await c.stop();
    await d.stop();
    await c.start({ syncPeers: [d.url] });
    await d.start({ syncPeers: [c.url] });
    const converged = await eventually('both to hold the same set', 120_000, async () => {
      const [sc, sd] = [await statuses(c.url, channel), await statuses(d.url, channel)];
      const settled = [...sc.values(), ...sd.values()].every((s) => s === 'processed' || s === 'forgotten');
      return sc.size === total && settled && sameMaps(sc, sd) ? sc : undefined;
    });
    assert.equal(converged.get(shared[0]!.item_hash), 'forgotten', 'the FORGET made on C applied on D');
    assert.equal(converged.get(forget.item_hash), 'processed');

    const fromD = peerOf(await syncStatus(c.url), d.url);
    const fromC = peerOf(await syncStatus(d.url), c.url);
    assert.equal(fromD.messages, 60, 'C fetched exactly what only D had');
    assert.equal(fromC.messages, 41, 'D fetched exactly what only C had (its 40 and the FORGET)');
    assert.equal(fromD.duplicates + fromC.duplicates, 0);

    // Another round changes nothing: the cursors are at the end and nothing is fetched again.
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(peerOf(await syncStatus(c.url), d.url).messages, 60);
    assert.equal(peerOf(await syncStatus(d.url), c.url).messages, 41);
  });
});
