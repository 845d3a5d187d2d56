/** The CCN console: the network as this node sees it, its allocations, live messages, peers. */
import '../style.css';
import { badge, every, fill, getJson, h, short, table, when } from './dom.ts';

interface Ccn { hash: string; name: string; owner: string; reward: string; status: string; score: number; performance: number; decentralization: number; resource_nodes: string[]; total_staked: number }
interface Crn { hash: string; name: string; address: string; owner: string; reward: string; status: string; parent: string | null; score: number; performance: number; decentralization: number }
interface Nodes {
  registry_address: string;
  nodes: Ccn[];
  resource_nodes: Crn[];
  resource_node_health: Record<string, { health: string; consecutive_failures: number; last_probe_at: number | null; version: string | null }>;
  ignored_operations: { item_hash: string; action: string; sender: string; time: number; reason: string }[];
}
interface Allocations {
  scheduler_enabled: boolean;
  node_hash: string | null;
  allocations: { item_hash: string; type: string; crn: string | null; reason: string; previous_crn: string | null; decided_at: number; push_status: string }[];
  crns: { hash: string; url: string; linked: boolean; health: string; consecutive_failures: number; down_since: number | null; last_probe_at: number | null; last_errors: string[]; version: string | null; push: { state: string; failures: number; last_error: string | null } | null }[];
}
interface SyncStatus { last_seq: number; peers: { url: string; active: boolean; cursor: number; peer_last_seq: number; lag: number; failures: number; banned: boolean; last_error: string | null }[] }
interface P2p { enabled: boolean; peer_id: string | null; connected?: { peer_id?: string; id?: string; score?: number }[] }

interface NetworkView { ccns: { node_hash: string; status: string; crns: { hash: string; health: string; workloads: string[] }[] }[] }

const score = (n: number): string => (Number.isFinite(n) ? n.toFixed(3) : '—');

async function refreshNetwork(): Promise<void> {
  const [n, view, lastRewards] = await Promise.all([getJson<Nodes>('/api/v0/nodes'), getJson<NetworkView>('/api/v0/network/ccns').catch(() => null), refreshRewards()]);
  const reward = (address: string): string => {
    const v = lastRewards.get(address.toLowerCase());
    return v === undefined ? '—' : v.toFixed(6);
  };
  const ccnName = new Map(n.nodes.map((c) => [c.hash, c.name]));
  // With liveness on, every CCN's view of its own CRNs (from its heartbeats); without, this node's monitor only.
  const liveness = new Map((view?.ccns ?? []).map((c) => [c.node_hash, c.status]));
  const remoteHealth = new Map((view?.ccns ?? []).flatMap((c) => c.crns.map((r) => [r.hash, r.health] as const)));
  fill(
    'ccns',
    table(
      ['name', 'hash', 'status', 'liveness', 'score', 'performance', 'decentralization', 'staked', 'CRNs', 'reward address', 'last reward'],
      n.nodes.map((c) => [c.name, short(c.hash), badge(c.status), liveness.has(c.hash) ? badge(liveness.get(c.hash) as string) : '—', score(c.score), score(c.performance), score(c.decentralization), c.total_staked, c.resource_nodes.length, short(c.reward), reward(c.reward)]),
      'ccn-table',
    ),
  );
  fill(
    'crns',
    table(
      ['name', 'hash', 'status', 'health', 'CCN', 'score', 'performance', 'decentralization', 'address', 'reward address', 'last reward'],
      n.resource_nodes.map((c) => {
        const health = n.resource_node_health[c.hash]?.health ?? remoteHealth.get(c.hash);
        return [c.name, short(c.hash), badge(c.status), health ? badge(health) : '—', c.parent ? (ccnName.get(c.parent) ?? short(c.parent)) : '—', score(c.score), score(c.performance), score(c.decentralization), c.address, short(c.reward), reward(c.reward)];
      }),
      'crn-table',
    ),
  );
  fill('ignored', table(['operation', 'action', 'sender', 'time', 'reason'], n.ignored_operations.slice(-20).reverse().map((o) => [short(o.item_hash), o.action, short(o.sender), when(o.time), o.reason])));
}

interface Distribution { sender: string; item_hash: string; from: number; to: number; rewards: Record<string, number> }

/** The last published `staking-rewards-distribution` posts (`ccn rewards --publish`); anyone may publish one: the sender is shown. */
async function distributions(): Promise<Distribution[]> {
  const body = await getJson<{ posts?: { sender?: unknown; item_hash?: unknown; content?: unknown }[] }>('/api/v0/posts.json?types=staking-rewards-distribution&pagination=5&page=1');
  const out: Distribution[] = [];
  for (const p of body.posts ?? []) {
    const c = p.content as { period?: { from_date?: unknown; to_date?: unknown }; rewards?: unknown } | null;
    if (!c || typeof c.rewards !== 'object' || c.rewards === null) continue;
    const rewards: Record<string, number> = {};
    for (const [a, v] of Object.entries(c.rewards as Record<string, unknown>)) if (typeof v === 'number' && Number.isFinite(v)) rewards[a] = v;
    out.push({ sender: String(p.sender), item_hash: String(p.item_hash), from: Number(c.period?.from_date), to: Number(c.period?.to_date), rewards });
  }
  return out;
}

async function refreshRewards(): Promise<Map<string, number>> {
  const list = await distributions().catch(() => []);
  fill(
    'rewards',
    table(
      ['distribution', 'published by', 'period', 'addresses', 'total ALEPH'],
      list.map((d) => [short(d.item_hash), short(d.sender), `${when(d.from)} – ${when(d.to)}`, Object.keys(d.rewards).length, Object.values(d.rewards).reduce((a, b) => a + b, 0).toFixed(6)]),
      'rewards-table',
    ),
  );
  return new Map(Object.entries(list[0]?.rewards ?? {}).map(([a, v]) => [a.toLowerCase(), v]));
}

async function refreshAllocations(): Promise<void> {
  const a = await getJson<Allocations>('/api/v0/allocations');
  fill('identity', a.node_hash ? h('span', {}, 'node ', short(a.node_hash)) : 'not registered', a.scheduler_enabled ? '' : ' (scheduler off)');
  fill('allocs', table(['workload', 'type', 'CRN', 'reason', 'previous CRN', 'decided', 'push'], a.allocations.map((r) => [short(r.item_hash), r.type, short(r.crn), r.reason, short(r.previous_crn), when(r.decided_at), badge(r.push_status)]), 'alloc-table'));
  fill(
    'linked',
    table(
      ['CRN', 'URL', 'health', 'failures', 'down since', 'last probe', 'version', 'push', 'last errors'],
      a.crns.map((c) => [short(c.hash), c.url, badge(c.health), c.consecutive_failures, when(c.down_since), when(c.last_probe_at), c.version ?? '—', c.push ? badge(c.push.state) : '—', c.last_errors.slice(-2).join('; ')]),
      'linked-table',
    ),
  );
}

async function refreshPeers(): Promise<void> {
  const [sync, p2p] = await Promise.all([getJson<SyncStatus>('/api/v0/sync/status').catch(() => null), getJson<P2p>('/api/v0/p2p/peers').catch(() => null)]);
  fill(
    'sync',
    sync
      ? h('div', {}, h('p', {}, `local sequence ${sync.last_seq}`), table(['peer', 'active', 'cursor', 'peer last seq', 'lag (messages)', 'failures', 'last error'], sync.peers.map((p) => [p.url, badge(String(p.active)), p.cursor, p.peer_last_seq, p.lag, p.failures, p.last_error ?? '—']), 'sync-table'))
      : h('p', {}, 'HTTP replication is not running on this node'),
  );
  fill(
    'p2p',
    p2p?.enabled
      ? h('div', {}, h('p', {}, 'libp2p peer ', short(p2p.peer_id)), table(['connected peer', 'score'], (p2p.connected ?? []).map((p) => [short(p.peer_id ?? p.id ?? ''), p.score === undefined ? '—' : score(p.score)])))
      : h('p', {}, 'libp2p is off on this node'),
  );
}

/** Live messages: the CCN's websocket, newest first, the last 50 kept. */
function liveMessages(): void {
  const list = document.getElementById('messages');
  if (!list) return;
  const connect = (): void => {
    const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/ws0/messages?history=20`);
    ws.onopen = () => fill('ws-state', badge('connected'));
    ws.onclose = () => {
      fill('ws-state', badge('disconnected, retrying'));
      setTimeout(connect, 3000);
    };
    ws.onmessage = (event) => {
      let m: { type?: string; item_hash?: string; sender?: string; time?: number; channel?: string } = {};
      try {
        m = JSON.parse(String(event.data)) as typeof m;
      } catch {
        return;
      }
      list.prepend(h('li', {}, `${when(m.time)} ${m.type ?? '?'} `, short(m.item_hash), ' from ', short(m.sender), m.channel ? ` on ${m.channel}` : ''));
      while (list.children.length > 50) list.lastElementChild?.remove();
    };
  };
  connect();
}

every(2000, async () => {
  await Promise.all([refreshNetwork(), refreshAllocations(), refreshPeers()]);
});
liveMessages();
