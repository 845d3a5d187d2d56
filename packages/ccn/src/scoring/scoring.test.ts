import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ProbeRow } from '../db/probes-repo.ts';
import { ccnApiUrl } from '../monitor/ccn-probes.ts';
import { computeScores, NOT_A_MONITOR } from './compute.ts';
import { buildMetricsContent } from './metrics.ts';

const MONITOR = '0x00000000000000000000000000000000000000a1';
const STRANGER = '0x00000000000000000000000000000000000000b2';
const CRN_A = 'a'.repeat(64);
const CRN_B = 'b'.repeat(64);
const CCN = 'c'.repeat(64);

function probe(node: string, check: string, time: number, latency: number | null, ok = latency !== null, version: string | null = null): ProbeRow {
  return { node_hash: node, check, time, latency, ok: ok ? 1 : 0, version, error: ok ? null : 'down', url: `http://${node.slice(0, 4)}` };
}

function crnRound(node: string, time: number, up: boolean): ProbeRow[] {
  return [
    probe(node, 'version', time, up ? 0.01 : null, up, up ? '1.14.0' : null),
    probe(node, 'login', time, up ? 0.02 : null),
    probe(node, 'status', time, up ? 0.04 : null),
    probe(node, 'usage', time, up ? 0.03 : null),
  ];
}

describe('metrics content', () => {
  it('one entry per probe round, scored latencies named as packages/scoring expects', () => {
    const rows = [
      ...crnRound(CRN_A, 100, true),
      ...crnRound(CRN_A, 110, false),
      probe(CCN, 'ccn_info', 100, 0.005),
      probe(CCN, 'ccn_version', 100, 0.004, true, '0.1.0'),
      probe(CCN, 'ccn_api', 100, 0.006),
    ];
    const c = buildMetricsContent(rows, { server: 'http://127.0.0.1:4024', tag: 'devnet', from: 100, to: 120 });
    assert.equal(c.version, '1.0');
    assert.deepEqual(c.tags, ['devnet']);
    assert.equal(c.metrics.crn.length, 2);
    const [up, down] = c.metrics.crn;
    assert.deepEqual([up?.measured_at, up?.base_latency, up?.full_check_latency, up?.version, up?.asn], [100, 0.02, 0.04, '1.14.0', null]);
    assert.equal(up?.diagnostic_vm_latency, undefined); // not probed: absent, not failed
    assert.deepEqual([down?.base_latency, down?.full_check_latency, down?.version, down?.checks.login?.ok], [null, null, null, false]);
    assert.equal(c.metrics.ccn.length, 1);
    assert.deepEqual([c.metrics.ccn[0]?.base_latency, c.metrics.ccn[0]?.api_latency, c.metrics.ccn[0]?.version], [0.005, 0.006, '0.1.0']);
  });
});

describe('scores from metrics posts', () => {
  const known = { knownCcns: new Set([CCN]), knownCrns: new Set([CRN_A, CRN_B]), from: 0, to: 3600, tag: 'devnet', monitors: [MONITOR] };

  it('a node down for part of the hour scores lower than one always up', () => {
    // A: 20 rounds up. B: 15 up, 5 down → base latency p95 = 100 s (a failure) → sub-score 0 →
    // geometric mean 0 → performance 0 → total 0.
    const rows: ProbeRow[] = [];
    for (let i = 0; i < 20; i++) rows.push(...crnRound(CRN_A, i * 10, true), ...crnRound(CRN_B, i * 10, i < 15));
    const content = buildMetricsContent(rows, { server: 's', tag: 'devnet', from: 0, to: 3600 });
    const { content: scores, ignored } = computeScores([{ itemHash: 'h1', sender: MONITOR, content }], known);
    assert.deepEqual(ignored, []);
    const a = scores.scores.crn.find((s) => s.node_id === CRN_A);
    const b = scores.scores.crn.find((s) => s.node_id === CRN_B);
    // A: base p25 = p95 = 0.02 → 1 − 0.02/2 = 0.99 (twice); full check 0.04 → 1 − 0.04/4 = 0.99
    // performance = 0.99 (geometric mean of three 0.99), version 1 → total sqrt(0.99) ≈ 0.994987
    assert.ok(Math.abs((a?.total_score ?? 0) - Math.sqrt(0.99)) < 1e-9);
    assert.equal(b?.total_score, 0);
    assert.equal(a?.measurements.probes, 20);
  });

  it('ignores metrics from an address that is not a monitor, and nodes the registry does not know', () => {
    const content = buildMetricsContent([...crnRound(CRN_A, 10, true), ...crnRound('d'.repeat(64), 10, true)], { server: 's', tag: '', from: 0, to: 60 });
    const forged = buildMetricsContent(crnRound(CRN_B, 10, true), { server: 's', tag: '', from: 0, to: 60 });
    const r = computeScores(
      [
        { itemHash: 'h1', sender: MONITOR, content },
        { itemHash: 'h2', sender: STRANGER, content: forged },
      ],
      known,
    );
    assert.deepEqual(r.content.scores.crn.map((s) => s.node_id), [CRN_A]);
    assert.ok(r.ignored.some((i) => i.item_hash === 'h2' && i.reason.startsWith(NOT_A_MONITOR)));
    assert.ok(r.ignored.some((i) => i.node_id === 'd'.repeat(64) && /unknown node/.test(i.reason)));
  });

  it('leaves out entries measured outside the period', () => {
    const content = buildMetricsContent(crnRound(CRN_A, 4000, true), { server: 's', tag: '', from: 3600, to: 7200 });
    assert.equal(computeScores([{ itemHash: 'h1', sender: MONITOR, content }], known).content.scores.crn.length, 0);
  });
});

describe('CCN API URL from the registry entry', () => {
  it('uses address, then an http multiaddress, then the default API port', () => {
    assert.equal(ccnApiUrl({ address: 'https://ccn.example.org/', multiaddress: '' }), 'https://ccn.example.org');
    assert.equal(ccnApiUrl({ address: '', multiaddress: '/dns4/ccn.example.org/tcp/443/https' }), 'https://ccn.example.org:443');
    assert.equal(ccnApiUrl({ address: '', multiaddress: '/ip4/1.2.3.4/tcp/4025/p2p/QmX' }), 'http://1.2.3.4:4024');
    assert.equal(ccnApiUrl({ address: '', multiaddress: '' }), undefined);
  });
});
