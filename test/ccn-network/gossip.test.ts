/**
 * CCNs peering for real: three `ccn` processes bootstrapped in a line
 * (A↔B↔C, A and C never connected) replicate every message a client submits with the official
 * SDK to any of them; `publication_status` says whether a peer took the message; the libp2p
 * identity survives a restart, and a corrupt identity file stops `ccn start` with exit 2.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AuthenticatedAlephHttpClient } from '@aleph-sdk/client';
import { importAccountFromPrivateKey } from '@aleph-sdk/ethereum';
import { buildInlineMessage, EthAccount } from '@aleph-nodes/protocol';
import { startCcnProcess, type CcnProcess } from '../ccn/helpers/ccn-process.ts';
import { eventually } from '../helpers/eventually.ts';
import { run } from '../helpers/process.ts';
import { meshed, peersOf, startNetwork, type NetNode } from './helpers/p2p.ts';

// The public Hardhat/Anvil test key #1: never used for anything of value.
const TEST_KEY = '0x59c6995e998f97a5a0044966f0945389dc9c86dae88c7a8412f4603b6b78690d';

interface Json {
  [key: string]: unknown;
}

async function messageStatus(ccn: { url: string }, hash: string): Promise<string | undefined> {
  const res = await fetch(`${ccn.url}/api/v0/messages/${hash}`, { signal: AbortSignal.timeout(5000) });
  if (res.status === 404) return undefined;
  return ((await res.json()) as { status?: string }).status;
}

async function submit(ccn: { url: string }, message: unknown, path = '/api/v0/messages'): Promise<{ status: number; body: Json }> {
  const body = path === '/api/v0/messages' ? { sync: false, message } : { topic: 'ALEPH-TEST', data: JSON.stringify(message) };
  const res = await fetch(`${ccn.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Json };
}

describe('CCNs gossip messages over libp2p', () => {
  let net: NetNode[];
  let lone: CcnProcess | undefined;
  /** Data dirs of restarted nodes (a node started on a given dir leaves it in place). */
  const dirs: string[] = [];
  const ccn = (i: number): CcnProcess => (net[i] as NetNode).ccn;
  const dump = async (): Promise<unknown> => Promise.all(net.map(async (n) => peersOf(n.ccn).catch((e: Error) => e.message)));

  before(async () => {
    net = await startNetwork([[1], [0, 2], [1]]);
    await eventually('A↔B and B↔C meshed', 60_000, async () => (await meshed(ccn(0), ccn(1))) && (await meshed(ccn(1), ccn(2))), dump);
  });
  after(async () => {
    await Promise.all([...(net ?? []).map((n) => n.ccn.stop()), lone?.stop()]);
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('keeps the line as configured: A and C are not connected, B knows both by their announcements', async () => {
    const [a, b, c] = await Promise.all([peersOf(ccn(0)), peersOf(ccn(1)), peersOf(ccn(2))]);
    assert.ok(!a.connected.some((p) => p.peer_id === c.peer_id));
    // B's bootstrap peers announced their HTTP API (ALIVE): anti-entropy finds them there.
    const urls = await eventually('B has A and C HTTP URLs', 30_000, async () => {
      const known = (await peersOf(ccn(1))).known.flatMap((k) => (k.httpUrl ? [k.httpUrl] : []));
      return known.includes(ccn(0).url) && known.includes(ccn(2).url) ? known : undefined;
    });
    assert.ok(!urls.includes(ccn(1).url), 'a node never lists itself');
    assert.ok(b.connected.length >= 2);
  });

  it('processes a message submitted with the SDK to any node on all three', async () => {
    for (const origin of [0, 2, 1]) {
      const client = new AuthenticatedAlephHttpClient(importAccountFromPrivateKey(TEST_KEY), ccn(origin).url);
      const post = await client.createPost({ postType: 'gossip-test', content: { origin }, channel: 'TEST' });
      for (let i = 0; i < 3; i++) {
        await eventually(`message from node ${origin} processed on node ${i}`, 60_000, async () => (await messageStatus(ccn(i), post.item_hash)) === 'processed', dump);
      }
    }
    // Every node validated what it received: B took A's and C's messages as new, and relayed them.
    const b = await peersOf(ccn(1));
    assert.ok((b.verdicts['ALEPH-TEST']?.accept ?? 0) >= 2);
    assert.equal(b.verdicts['ALEPH-TEST']?.reject ?? 0, 0);
  });

  it('says publication succeeded when a peer took the message, on both submission routes', async () => {
    const account = EthAccount.generate();
    const first = buildInlineMessage(account, 'POST', { type: 'gossip-test', content: { route: 'messages' } });
    const res = await submit(ccn(0), first);
    assert.equal(res.status, 202);
    assert.deepEqual(res.body, { publication_status: { status: 'success', failed: [] }, message_status: 'pending' });
    const legacy = buildInlineMessage(account, 'POST', { type: 'gossip-test', content: { route: 'pubsub' } });
    const pub = await submit(ccn(2), legacy, '/api/v0/p2p/pubsub/pub');
    assert.equal(pub.status, 200);
    assert.deepEqual(pub.body, { status: 'success', failed: [] });
    for (const m of [first, legacy]) {
      await eventually('replicated', 60_000, async () => (await messageStatus(ccn(1), m.item_hash)) === 'processed');
    }
  });

  it('says p2p failed for a lone node, and stores the message all the same', async () => {
    lone = await startCcnProcess();
    const m = buildInlineMessage(EthAccount.generate(), 'POST', { type: 'gossip-test', content: { lone: true } });
    const res = await submit(lone, m);
    assert.equal(res.status, 202);
    assert.deepEqual(res.body, { publication_status: { status: 'warning', failed: ['p2p'] }, message_status: 'pending' });
    await eventually('stored on the lone node', 30_000, async () => (await messageStatus(lone as CcnProcess, m.item_hash)) === 'processed');
    const pub = await submit(lone, buildInlineMessage(EthAccount.generate(), 'POST', { type: 'gossip-test', content: {} }), '/api/v0/ipfs/pubsub/pub');
    assert.deepEqual(pub.body, { status: 'warning', failed: ['p2p'] });
  });

  it('keeps its peer id across a restart, and the line carries messages again', async () => {
    const b = net[1] as NetNode;
    const before = (await peersOf(b.ccn)).peer_id;
    // A clean stop (SIGTERM) that keeps the data dir, then a start on it.
    dirs.push(b.ccn.dataDir);
    b.ccn.signal('SIGTERM');
    await b.ccn.exited;
    const again = await startCcnProcess(b.settings, b.ccn.dataDir);
    net[1] = { ...b, ccn: again };
    assert.equal((await peersOf(again)).peer_id, before);
    await eventually('A↔B and B↔C meshed again', 60_000, async () => (await meshed(ccn(0), ccn(1))) && (await meshed(ccn(1), ccn(2))), dump);
    const m = buildInlineMessage(EthAccount.generate(), 'POST', { type: 'gossip-test', content: { after: 'restart' } });
    assert.equal((await submit(ccn(0), m)).status, 202);
    await eventually('A → C through the restarted B', 60_000, async () => (await messageStatus(ccn(2), m.item_hash)) === 'processed', dump);
  });

  it('refuses to start on a corrupt identity file (exit 2, the file named, the file kept)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ccn-p2pkey-'));
    try {
      writeFileSync(join(dir, 'p2p.key'), 'garbage that is no key');
      // `ccn start` needs a node key (made by `ccn init`); the p2p identity is what is tested here.
      writeFileSync(join(dir, 'node.key'), `${EthAccount.generate().exportPrivateKey()}\n`, { mode: 0o600 });
      const r = await run(process.execPath, ['packages/cli/bin/ccn.js', 'start', '--port', '0', '--p2p-port', '0', '--data-dir', dir]);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(r.stderr, /p2p\.key/);
      assert.equal(readFileSync(join(dir, 'p2p.key'), 'utf8'), 'garbage that is no key');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('CCNs find each other in the registry', () => {
  let net: NetNode[];
  const registry = { ccnOwnerMinBalance: 0, stakerMinBalance: 0, ccnActivationStake: 0, registryTag: 'p2p-test' };

  before(async () => {
    // No bootstrap at all: A can only learn of B from a create-node in its registry.
    net = await startNetwork([[], []], () => registry);
  });
  after(async () => {
    await Promise.all((net ?? []).map((n) => n.ccn.stop()));
  });

  it('dials the multiaddress of a registered CCN, and takes its announcements', async () => {
    const [a, b] = [(net[0] as NetNode).ccn, (net[1] as NetNode).ccn];
    const bView = await peersOf(b);
    assert.ok(!(await peersOf(a)).connected.some((p) => p.peer_id === bView.peer_id));
    const owner = EthAccount.generate();
    const createNode = buildInlineMessage(owner, 'POST', {
      type: 'corechan-operation',
      content: { action: 'create-node', tags: ['create-node', registry.registryTag], details: { name: 'b', multiaddress: bView.announce.p2p } },
    });
    assert.equal((await submit(a, createNode)).status, 202);
    await eventually('A dials B from its registry', 60_000, async () => (await peersOf(a)).connected.some((p) => p.peer_id === bView.peer_id), async () => peersOf(a));
    // B is a registered CCN: its ALIVE counts on A, and its announced API URL replaces the guess.
    await eventually('A knows B\'s API from its announcement', 60_000, async () => {
      const known = (await peersOf(a)).known.find((k) => k.peerId === bView.peer_id);
      return known?.httpUrl === b.url && known.sources.includes('registry') && known.sources.includes('announce');
    }, async () => peersOf(a));
  });
});
