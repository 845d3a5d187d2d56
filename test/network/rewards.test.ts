/**
 * Scoring and rewards end to end: one CCN (in this process) and three real CRNs
 * (spawned processes), registered and linked as the devnet does it, with short metrics and score
 * periods. One CRN is killed (kill -9) for part of the reward period, then comes back. The CCN
 * publishes its probes as metrics posts and scores computed from them; the real `ccn rewards`
 * CLI then computes the period's distribution: the CRN that was down scores lower and earns less
 * than its two healthy siblings, the same period gives the same bytes twice, and publishing a
 * period that overlaps a published distribution is refused.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { buildInlineMessage, EthAccount } from '@aleph-nodes/protocol';
import { createLogger } from '@aleph-nodes/service';
import type { CcnNode } from '@aleph-nodes/ccn';
import { publishMessage } from '@aleph-nodes/cli';
import { jsonLine, run } from '../helpers/process.ts';
import { eventually, getJson, startNetwork, type NetworkCrn, type TestNetwork } from '../kit/index.ts';

const json = <T>(url: string): Promise<T> => getJson<T>(url, 10_000);

const TAG = 'rewards-test';
/** Score periods of 20 s (aligned on multiples of 20 s); the reward period is two of them. */
const PERIOD = 20;
/** Probe every second; a 5 s timeout leaves room on a loaded machine (lag of a window: 6 s). */
const MONITOR = { monitorIntervalSeconds: 1, monitorProbeTimeoutSeconds: 5, monitorFailuresBeforeDown: 3, failoverBoundSeconds: 30 };

type CrnProc = NetworkCrn;

interface RewardsReport {
  distribution: { incentive: string; status: string; rewards: Record<string, number>; period: { from_date: number; to_date: number }; tags: string[] };
  lines: { node: string; role: string; address: string; amount: number }[];
  nodes: Record<string, { role: string; score: number; multiplier: number }>;
  score_posts: string[];
  total: number;
}

/** Resolves once the clock has passed `unixSeconds` (waiting on the protocol's time, not asserting on it). */
async function until(unixSeconds: number): Promise<void> {
  const ms = unixSeconds * 1000 - Date.now();
  if (ms > 0) await new Promise((r) => setTimeout(r, ms));
}

describe('scores and rewards with three CRNs, one of them down for a while', { timeout: 300_000 }, () => {
  let net: TestNetwork;
  let ccnKeyFile: string;
  let ccnAccount: EthAccount;
  const staker = EthAccount.generate();
  const stranger = EthAccount.generate();
  /** The CCN's warnings, to see bad inputs refused with their reason. */
  const logLines: string[] = [];
  let ccn: CcnNode;
  let crns: CrnProc[] = [];
  let from = 0;
  let to = 0;

  function rewardsCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return run(process.execPath, ['packages/cli/bin/ccn.js', 'rewards', '--ccn', ccn.url, '--tag', TAG, ...args]);
  }

  before(async () => {
    const logSink = new Writable({
      write(chunk: Buffer, _enc, done) {
        logLines.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    });
    net = await startNetwork({
      ccns: 1,
      crns: 3,
      tag: TAG,
      // The CCN's own key is the balance oracle, as in the devnet.
      ccn: (oracle) => ({ logLevel: 'warn', balanceIndexers: [oracle.address], metricsPublishIntervalSeconds: 2, scorePeriodSeconds: PERIOD, ...MONITOR }),
      ccnLogger: createLogger({ name: 'ccn', level: 'warn', destination: logSink }),
    });
    ({ ccn, crns, ccnAccount, ccnKeyFile } = net);
    // The oracle gives the staker a balance; the staker stakes on the CCN.
    await publishMessage(ccn.url, buildInlineMessage(ccnAccount, 'POST', { type: 'balances-update', content: { chain: 'ETH', balances: { [staker.address]: 50_000 } } }, { channel: 'FOUNDATION' }));
    const { nodes } = await json<{ nodes: { hash: string }[] }>(`${ccn.url}/api/v0/nodes`);
    const ccnHash = nodes[0]?.hash as string;
    await publishMessage(
      ccn.url,
      buildInlineMessage(staker, 'POST', { type: 'corechan-operation', ref: ccnHash, content: { action: 'stake', tags: ['stake', TAG] } }, { channel: 'FOUNDATION' }),
    );
  });

  after(async () => {
    await net?.close();
  });

  it('probes the three CRNs and the CCN itself, and publishes the probes as signed metrics posts', async () => {
    await eventually('three healthy CRNs', 60_000, async () => {
      const v = await json<{ crns: { health: string }[] }>(`${ccn.url}/api/v0/allocations`);
      return v.crns.length === 3 && v.crns.every((c) => c.health === 'healthy');
    });
    const metrics = await eventually('a metrics post with the three CRNs and the CCN', 60_000, async () => {
      const { messages } = await json<{ messages: { sender: string; channel: string; content: { content: { version: string; metrics: { ccn: unknown[]; crn: { node_id: string }[] } } } }[] }>(
        `${ccn.url}/api/v0/messages.json?msgTypes=POST&contentTypes=aleph-network-metrics&pagination=50`,
      );
      return messages.find((m) => new Set(m.content.content.metrics.crn.map((e) => e.node_id)).size === 3 && m.content.content.metrics.ccn.length > 0);
    });
    assert.equal(metrics.sender, ccn.address);
    assert.equal(metrics.channel, 'aleph-scoring');
    assert.equal(metrics.content.content.version, '1.0');
  });

  it('scores the CRN that was down lower, and `ccn rewards` pays it less than its siblings', async (t) => {
    // The reward period: the next two score periods. CRN 3 is killed 3 s in and restarted
    // 10 s later (usually back before the second score period; the assertions hold either way).
    from = (Math.floor(Date.now() / 1000 / PERIOD) + 1) * PERIOD;
    to = from + 2 * PERIOD;
    const down = crns[2] as CrnProc;
    await until(from + 3);
    await down.kill();
    // Metrics from an address that is not a monitor, claiming the dead CRN answers fast: ignored.
    await publishMessage(
      ccn.url,
      buildInlineMessage(
        stranger,
        'POST',
        {
          type: 'aleph-network-metrics',
          content: { version: '1.0', tags: [TAG], metrics: { server: 'forged', server_asn: null, server_as_name: null, ccn: [], crn: [{ node_id: down.hash, url: down.url, measured_at: from + 4, version: '1.14.0', asn: null, as_name: null, base_latency: 0.001, full_check_latency: 0.001 }] } },
        },
        { channel: 'aleph-scoring' },
      ),
    );
    await until(from + 13);
    await down.start();
    t.diagnostic(`CRN 3 killed at +3 s, ready again at +${(Date.now() / 1000 - from).toFixed(1)} s`);

    // Both score periods published (the second once its probes are all in).
    const scorePosts = await eventually('the score post of the period\'s end', 120_000, async () => {
      const { posts } = await json<{ posts: { content: { period: { from_date: number; to_date: number }; scores: { crn: { node_id: string; total_score: number }[] } } }[] }>(
        `${ccn.url}/api/v0/posts.json?types=aleph-scoring-scores&pagination=0&sortOrder=1`,
      );
      return posts.some((p) => p.content.period.to_date === to) ? posts : undefined;
    });
    for (const p of scorePosts.filter((x) => x.content.period.from_date >= from)) {
      t.diagnostic(`scores ${p.content.period.from_date - from}–${p.content.period.to_date - from} s: ${crns.map((crn) => p.content.scores.crn.find((e) => e.node_id === crn.hash)?.total_score.toFixed(3)).join(', ')}`);
    }
    assert.ok(logLines.some((l) => jsonLine(l)?.msg === `scoring input ignored: Metrics from an address that is not a monitor (${stranger.address})`), 'the forged metrics are ignored with a reason');

    for (const crn of crns) {
      const { probes } = await json<{ probes: { check: string; time: number; ok: boolean; error: string | null; latency: number | null }[] }>(
        `${ccn.url}/api/v0/allocations/probes?node_hash=${crn.hash}&from=${from}&to=${to}&limit=10000`,
      );
      const failed = probes.filter((p) => !p.ok);
      const span = failed.length ? ` from +${((failed[0]?.time ?? 0) - from).toFixed(1)} s to +${((failed.at(-1)?.time ?? 0) - from).toFixed(1)} s, last: ${failed.at(-1)?.check} ${failed.at(-1)?.error}` : '';
      t.diagnostic(`CRN ${crn.index + 1}: ${probes.length} probes, ${failed.length} failed${span}`);
    }
    const first = await rewardsCli(['--from', String(from), '--to', new Date(to * 1000).toISOString(), '--json']);
    assert.equal(first.code, 0, first.stderr);
    const second = await rewardsCli(['--from', new Date(from * 1000).toISOString(), '--to', String(to), '--json']);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.stdout, first.stdout, 'the same period gives the same bytes');

    const table = await rewardsCli(['--from', String(from), '--to', String(to)]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^ROLE +NODE +ADDRESS +SCORE +ALEPH\n/);
    assert.match(table.stdout, /\ntotal \d+\.\d{6} ALEPH for /);

    const report = JSON.parse(first.stdout) as RewardsReport;
    assert.equal(report.score_posts.length, 2);
    const [a, b, c] = crns.map((crn) => report.nodes[crn.hash]?.score as number);
    const earned = (crn: CrnProc): number => report.distribution.rewards[crn.owner.address.toLowerCase()] ?? 0;
    t.diagnostic(`period scores ${[a, b, c].map((x) => x?.toFixed(3)).join(', ')}; rewards ${crns.map((crn) => earned(crn).toFixed(6)).join(', ')} ALEPH`);
    assert.ok((c as number) < (a as number) && (c as number) < (b as number), `down CRN score ${c} < healthy ${a}, ${b}`);
    assert.ok(earned(down) < earned(crns[0] as CrnProc) && earned(down) < earned(crns[1] as CrnProc), `down CRN earns ${earned(down)} < ${earned(crns[0] as CrnProc)}, ${earned(crns[1] as CrnProc)}`);
    assert.ok(earned(crns[0] as CrnProc) > 0);
    // The CCN operator (its reward address is its owner, the CCN key) and the staker are paid too.
    assert.ok((report.distribution.rewards[ccnAccount.address.toLowerCase()] ?? 0) > 0);
    assert.ok((report.distribution.rewards[staker.address.toLowerCase()] ?? 0) > 0);
    assert.deepEqual(report.distribution.period, { from_date: from, to_date: to });

    // The registry shows each node's current score: the one of the latest score post.
    await eventually('the registry to show the latest scores', 30_000, async () => {
      const latest = async (): Promise<{ item_hash: string; content: { scores: { ccn: { node_id: string; total_score: number }[]; crn: { node_id: string; total_score: number }[] } } } | undefined> =>
        (await json<{ posts: { item_hash: string; content: { scores: { ccn: { node_id: string; total_score: number }[]; crn: { node_id: string; total_score: number }[] } } }[] }>(
          `${ccn.url}/api/v0/posts.json?types=aleph-scoring-scores&pagination=1`,
        )).posts[0];
      const before = await latest();
      const { nodes, resource_nodes } = await json<{ nodes: { hash: string; score: number }[]; resource_nodes: { hash: string; score: number }[] }>(`${ccn.url}/api/v0/nodes`);
      const after = await latest();
      if (!before || before.item_hash !== after?.item_hash) return undefined; // a new post came in between: read again
      for (const e of before.content.scores.crn) assert.equal(resource_nodes.find((n) => n.hash === e.node_id)?.score, e.total_score);
      for (const e of before.content.scores.ccn) assert.equal(nodes.find((n) => n.hash === e.node_id)?.score, e.total_score);
      return before.content.scores.crn.length === 3 && before.content.scores.ccn.length === 1;
    });
  });

  it('publishes the distribution once; an overlapping period is refused with a reason', async () => {
    const published = await rewardsCli(['--from', String(from), '--to', String(to), '--publish', '--key', ccnKeyFile]);
    assert.equal(published.code, 0, published.stderr);
    const { posts } = await json<{ posts: { sender: string; content: { incentive: string; period: { from_date: number } } }[] }>(
      `${ccn.url}/api/v0/posts.json?types=staking-rewards-distribution&pagination=0`,
    );
    assert.equal(posts.length, 1);
    assert.equal(posts[0]?.sender, ccnAccount.address);
    assert.equal(posts[0]?.content.period.from_date, from);

    const again = await rewardsCli(['--from', String(from + PERIOD), '--to', String(to), '--publish', '--key', ccnKeyFile, '--json']);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /overlaps the distribution [0-9a-f]{64} already published/);
    const bad = await rewardsCli(['--from', 'yesterday', '--to', String(to)]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /neither an ISO 8601 date nor unix seconds/);
  });
});
