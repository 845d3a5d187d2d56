/**
 * Two liveness tables over a scripted registry: heartbeats travel by an in-memory gossip and by
 * real HTTP pulls, a silent CCN goes down after the setting, its CRNs are probed directly, a
 * relayed stale heartbeat never makes anyone live, a clock far from the peers' fences the node,
 * and the table survives a restart.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { EthAccount, sha256Hex } from '@aleph-nodes/protocol';
import { silentLogger } from '@aleph-nodes/service';
import type { RegistrySnapshot } from '../registry/registry-service.ts';
import type { CcnEntry, CrnEntry } from '../registry/types.ts';
import type { Gossip, GossipHandler } from './gossip.ts';
import { signHeartbeat } from './liveness-heartbeat.ts';
import { Liveness } from './liveness.ts';
import type { LivenessSettings, OwnState } from './liveness-types.ts';

const keyX = EthAccount.generate();
const keyY = EthAccount.generate();
const [X, Y] = [sha256Hex('x'), sha256Hex('y')];
const crnX = sha256Hex('crn-x');
const W = sha256Hex('w');
const registry = {
  snapshot: async (): Promise<RegistrySnapshot> => ({
    value: {
      nodes: [{ hash: X, owner: keyX.address, manager: keyX.address } as CcnEntry, { hash: Y, owner: keyY.address, manager: keyY.address } as CcnEntry],
      resource_nodes: [{ hash: crnX, parent: X, status: 'linked', address: 'http://crn-x.invalid' } as CrnEntry],
    },
    outcomes: new Map(),
    created: 0,
    lastUpdated: 0,
    originalItemHash: '',
    lastUpdateItemHash: '',
  }),
};

const settings = (over: Partial<LivenessSettings> = {}): LivenessSettings => ({
  heartbeatIntervalSeconds: 3600,
  ccnDownAfterSeconds: 60,
  heartbeatMaxClockSkewSeconds: 15,
  heartbeatPullTimeoutSeconds: 2,
  heartbeatTopic: 'HB',
  stateFile: '',
  probeIntervalSeconds: 0.01,
  probeTimeoutSeconds: 1,
  probeFailuresBeforeGone: 2,
  ...over,
});

/** One in-memory topic shared by the nodes that join it. */
function memoryGossip(): { join(peerId: string): Gossip; verdicts: string[] } {
  const handlers = new Map<string, GossipHandler>();
  const verdicts: string[] = [];
  return {
    verdicts,
    join(peerId) {
      return {
        peerId,
        connectedPeers: () => [...handlers.keys()].filter((p) => p !== peerId),
        subscribe: (_topic, handler) => handlers.set(peerId, handler),
        publish: async (topic, data) => {
          let n = 0;
          for (const [p, h] of handlers) {
            if (p === peerId) continue;
            verdicts.push(await h({ topic, data, from: peerId }));
            n += 1;
          }
          return n;
        },
      };
    },
  };
}

function serve(liveness: () => Liveness, clockOffset = 0): Promise<{ url: string; server: Server }> {
  const server = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ now: Date.now() / 1000 + clockOffset, heartbeats: liveness().heartbeats() }));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server })));
}

const own = (nodeHash: string, workloads: string[] = []): OwnState => ({
  nodeHash,
  schedules: true,
  crns: nodeHash === X ? [{ hash: crnX, health: 'healthy', capacity: null, workloads: workloads.map((item_hash) => ({ item_hash, decided_at: 1 })) }] : [],
  unplaced: [],
});

describe('Liveness', () => {
  const dir = mkdtempSync(join(tmpdir(), 'liveness-test-'));
  const servers: Server[] = [];
  const nodes: Liveness[] = [];
  after(() => {
    for (const n of nodes) n.stop();
    for (const s of servers) s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function node(key: EthAccount, hash: string, over: { settings?: Partial<LivenessSettings>; clock?: () => number; peers?: string[]; workloads?: string[]; list?: (url: string) => Promise<Set<string> | null> } = {}): Liveness {
    const l = new Liveness(settings(over.settings), {
      account: key,
      registry,
      ownState: () => own(hash, over.workloads),
      peerUrls: () => over.peers ?? [],
      clock: over.clock ?? (() => Date.now() / 1000),
      log: silentLogger(),
      ...(over.list ? { listExecutions: over.list } : {}),
    });
    nodes.push(l);
    return l;
  }

  it('carries heartbeats on gossip: valid accepted, tampered rejected, repeated ignored', async () => {
    const g = memoryGossip();
    const x = node(keyX, X);
    const y = node(keyY, Y);
    x.attachGossip(g.join('px'));
    y.attachGossip(g.join('py'));
    await x.start('http://x.invalid');
    await x.ready;
    await y.start('http://y.invalid');
    await y.ready;
    assert.equal(y.isLive(X), true);
    assert.equal(x.isLive(Y), true);
    assert.ok(g.verdicts.every((v) => v === 'accept'));
    const [env] = x.heartbeats().filter((e) => e.payload.includes(X));
    const gy = g.join('attacker');
    g.verdicts.length = 0;
    await gy.publish('HB', new TextEncoder().encode(JSON.stringify({ ...env, payload: env?.payload.replace('"schedules":true', '"schedules":false') })));
    await gy.publish('HB', new TextEncoder().encode(JSON.stringify(env)));
    await gy.publish('HB', new TextEncoder().encode('{"not":"a heartbeat"}'));
    // Both X and Y hear the attacker: per message [X's verdict, Y's verdict].
    assert.deepEqual(g.verdicts, ['reject', 'reject', 'ignore', 'ignore', 'reject', 'reject']);
  });

  it('pulls over HTTP without gossip; a CCN silent for ccnDownAfterSeconds is down; its CRNs get probed', async () => {
    let now = Date.now() / 1000;
    const probed: string[] = [];
    const x = node(keyX, X, { clock: () => now, workloads: [W] });
    const sx = await serve(() => x);
    servers.push(sx.server);
    let changes = 0;
    const y = node(keyY, Y, {
      clock: () => now,
      peers: [sx.url],
      list: async (url) => {
        probed.push(url);
        return null;
      },
    });
    y.events.on('changed', () => changes++);
    await x.start(sx.url);
    await x.ready;
    await y.start('http://y.invalid');
    await y.ready;
    assert.equal(y.isLive(X), true);
    assert.equal(y.views(Y).find((v) => v.nodeHash === X)?.placements.get(W)?.crnHash, crnX);
    assert.ok(Math.abs(y.clockOffset() ?? 99) < 2, 'clock offset from the peer\'s answer');
    assert.equal(y.fenced(), false);
    // X stops beating (it is not ticking: the interval is an hour). 31 s later it is suspect: its CRN is probed.
    sx.server.close();
    now += 31;
    const before = changes;
    await y.tick();
    assert.equal(y.isLive(X), true);
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(probed.includes('http://crn-x.invalid'), 'the CRN of a silent CCN is probed directly');
    assert.equal(y.orphan(crnX, W), 'gone', 'two failed rounds: gone');
    now += 30;
    await y.tick();
    assert.equal(y.isLive(X), false, 'down after 61 s without a heartbeat');
    assert.ok(changes > before, 'the scheduler is told');
    assert.equal(y.views(Y).find((v) => v.nodeHash === X)?.live, false);
  });

  it('a stale heartbeat relayed by a peer is kept as the last word, never as a sign of life', async () => {
    const now = Date.now() / 1000;
    const y = node(keyY, Y, { clock: () => now });
    const old = signHeartbeat(keyX, { v: 1, node_hash: X, address: keyX.address, time: now - 120, url: '', schedules: true, crns: [], unplaced: [] });
    assert.equal((await y.offer(old, 'http')).verdict, 'accepted');
    assert.equal(y.isLive(X), false);
    assert.equal((await y.offer(old, 'gossip')).verdict, 'ignored', 'gossip does not carry stale ones');
    const older = signHeartbeat(keyX, { v: 1, node_hash: X, address: keyX.address, time: now - 200, url: '', schedules: true, crns: [], unplaced: [] });
    assert.deepEqual(await y.offer(older, 'http'), { verdict: 'ignored', reason: 'not newer than the heartbeat known' });
  });

  it('fences itself when its clock is far from its peers\'', async () => {
    const x = node(keyX, X);
    const skewed = await serve(() => x, 100);
    servers.push(skewed.server);
    const y = node(keyY, Y, { peers: [skewed.url] });
    await y.start('http://y.invalid');
    await y.ready;
    assert.ok((y.clockOffset() ?? 0) > 90);
    assert.equal(y.fenced(), true);
  });

  it('remembers the heartbeats across a restart (where a dead CCN had its workloads)', async () => {
    const stateFile = join(dir, 'heartbeats.json');
    const y = node(keyY, Y, { settings: { stateFile } });
    await y.start('http://y.invalid');
    const env = signHeartbeat(keyX, { v: 1, node_hash: X, address: keyX.address, time: Date.now() / 1000, url: '', schedules: true, crns: [], unplaced: [] });
    await y.offer(env, 'http');
    y.stop();
    const again = node(keyY, Y, { settings: { stateFile } });
    await again.start('http://y.invalid');
    await again.ready;
    assert.equal(again.entry(X)?.source, 'disk');
    assert.equal(again.isLive(X), true);
  });
});
