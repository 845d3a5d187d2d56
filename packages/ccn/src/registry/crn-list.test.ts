/** The CRN list clients choose from (`GET /api/v0/crns.json`): built from the registry and the monitor's reports, in upstream's shape. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import { CrnListSchema, type SystemUsageAnswer } from '@aleph-nodes/protocol';
import { crnListRoutes } from '../api/routes/crn-list.ts';
import { buildCrnList, type CrnKnown } from './crn-list.ts';
import type { CrnEntry } from './types.ts';

function crn(n: number, over: Partial<CrnEntry> = {}): CrnEntry {
  return {
    hash: String(n).repeat(64).slice(0, 64),
    name: `crn ${n}`,
    type: 'compute',
    address: `http://127.0.0.${n}:4020`,
    owner: `0x${String(n).repeat(40).slice(0, 40)}`,
    manager: '',
    reward: `0x${String(n).repeat(40).slice(0, 40)}`,
    stream_reward: '',
    status: 'linked',
    parent: 'a'.repeat(64),
    score: n / 10,
    performance: 0,
    decentralization: 0,
    inactive_since: null,
    time: 1_700_000_000,
    locked: false,
    authorized: [],
    picture: '',
    banner: '',
    description: '',
    registration_url: '',
    terms_and_conditions: '',
    multiaddress: '',
    ...over,
  };
}

const gpu = (compatible: boolean) => ({ vendor: 'NVIDIA', model: 'L40S', device_name: 'AD102GL [L40S]', device_class: '0300', pci_host: '01:00.0', device_id: '10de:26b9', compatible });
const USAGE: SystemUsageAnswer = {
  cpu: { count: 4, load_average: { load1: 0.5, load5: 0.4, load15: 0.3 }, core_frequencies: { min: 800, max: 3000 } },
  mem: { total_kB: 8_000_000, available_kB: 6_000_000 },
  disk: { total_kB: 100_000_000, available_kB: 90_000_000 },
  period: { start_timestamp: '2026-12-04T08:00:00Z', duration_seconds: 60 },
  properties: { cpu: { architecture: 'x86_64', vendor: 'GenuineIntel', features: [] } },
  gpu: { devices: [gpu(true), gpu(false)], available_devices: [gpu(false)] },
  active: true,
};
const KNOWN: CrnKnown = {
  report: { version: '1.14.0', payment_receiver_address: `0x${'b'.repeat(40)}`, qemu_support: false, confidential_support: false, gpu_support: false },
  systemUsage: USAGE,
  reportedAt: 1_780_000_000,
};

describe('buildCrnList', () => {
  it('spreads every registry entry with what the CRN reported, sorted by score, and fits the shared schema', () => {
    const list = buildCrnList([crn(1), crn(2)], (h) => (h === crn(1).hash ? KNOWN : undefined), false);
    assert.doesNotThrow(() => CrnListSchema.parse(list));
    assert.deepEqual(list.crns.map((c) => c.name), ['crn 2', 'crn 1']);
    const [unread, read] = list.crns;
    // Not probed by this node: every self-reported field is null, as upstream's for a node it could not read.
    assert.equal(unread?.config_from_crn, false);
    assert.deepEqual([unread?.version, unread?.payment_receiver_address, unread?.qemu_support, unread?.system_usage], [null, null, null, null]);
    assert.equal(read?.config_from_crn, true);
    assert.equal(read?.version, '1.14.0');
    assert.equal(read?.payment_receiver_address, `0x${'b'.repeat(40)}`);
    assert.equal(read?.qemu_support, false);
    assert.deepEqual(read?.system_usage, USAGE);
    assert.equal(read?.reward, crn(1).reward);
    assert.equal(read?.parent, 'a'.repeat(64));
    // Only the devices the CRN flags compatible; ipv6_check is never probed here.
    assert.deepEqual(read?.compatible_gpus, [gpu(true)]);
    assert.deepEqual(read?.compatible_available_gpus, []);
    assert.equal(read?.ipv6_check, null);
    assert.equal(list.last_refresh, new Date(1_780_000_000_000).toISOString());
  });

  it('filter_inactive leaves out the CRNs with an inactive_since; no report gives no last_refresh', () => {
    const nodes = [crn(1), crn(2, { inactive_since: 1_700_000_100 })];
    assert.equal(buildCrnList(nodes, () => undefined, false).crns.length, 2);
    const active = buildCrnList(nodes, () => undefined, true);
    assert.deepEqual(active.crns.map((c) => c.name), ['crn 1']);
    assert.equal(active.last_refresh, null);
  });
});

describe('CrnListSchema', () => {
  const entry = buildCrnList([crn(1)], () => KNOWN, false).crns[0];
  it('is strict: a missing key (the clients index every one) or an unknown key is refused', () => {
    const { qemu_support: _q, ...missing } = entry as NonNullable<typeof entry>;
    assert.equal(CrnListSchema.safeParse({ last_refresh: null, crns: [missing] }).success, false);
    assert.equal(CrnListSchema.safeParse({ last_refresh: null, crns: [{ ...entry, extra: 1 }] }).success, false);
    assert.equal(CrnListSchema.safeParse({ last_refresh: null, crns: [{ ...entry, system_usage: { cpu: { count: 4 } } }] }).success, false);
    assert.equal(CrnListSchema.safeParse({ last_refresh: null, crns: [entry] }).success, true);
  });
});

describe('GET /api/v0/crns.json', () => {
  async function app(nodes: CrnEntry[]) {
    const server = Fastify();
    const monitor = { status: (h: string) => (h === crn(1).hash ? { ...KNOWN } : undefined) };
    await server.register(crnListRoutes, {
      registry: { snapshot: async () => ({ value: { nodes: [], resource_nodes: nodes } }) as never },
      network: { monitor } as never,
    });
    return server;
  }

  it("answers the registry's CRNs with the monitor's reports; filter_inactive as upstream; a bad value is 422", async () => {
    const server = await app([crn(1), crn(2, { inactive_since: 5 })]);
    try {
      const all = await server.inject({ method: 'GET', url: '/api/v0/crns.json' });
      assert.equal(all.statusCode, 200);
      const list = CrnListSchema.parse(all.json());
      assert.deepEqual(list.crns.map((c) => [c.name, c.version]), [['crn 2', null], ['crn 1', '1.14.0']]);
      const active = CrnListSchema.parse((await server.inject({ method: 'GET', url: '/api/v0/crns.json?filter_inactive=true' })).json());
      assert.deepEqual(active.crns.map((c) => c.name), ['crn 1']);
      assert.equal((await server.inject({ method: 'GET', url: '/api/v0/crns.json?filter_inactive=false' })).json().crns.length, 2);
      assert.equal((await server.inject({ method: 'GET', url: '/api/v0/crns.json?filter_inactive=maybe' })).statusCode, 422);
    } finally {
      await server.close();
    }
  });

  it('without a monitor (a CCN that links no CRN) every CRN is listed with nulls', async () => {
    const server = Fastify();
    await server.register(crnListRoutes, { registry: { snapshot: async () => ({ value: { nodes: [], resource_nodes: [crn(1)] } }) as never }, network: undefined });
    try {
      const list = CrnListSchema.parse((await server.inject({ method: 'GET', url: '/api/v0/crns.json' })).json());
      assert.equal(list.crns[0]?.config_from_crn, false);
    } finally {
      await server.close();
    }
  });
});
