/**
 * The liveness routes (ours; the reference CCN has none):
 * - `GET /api/v0/network/heartbeats`: the latest verified heartbeat of every CCN this node knows,
 *   its own included, with this node's clock (`now`); other CCNs pull it every heartbeat interval.
 * - `GET /api/v0/network/ccns`: each registered CCN's liveness and last heartbeat, and which
 *   workloads each one manages by the ownership rule, with the rule and the reason.
 */
import type { FastifyInstance } from 'fastify';
import type { RegistryService } from '../registry/registry-service.ts';
import type { Scheduler } from '../scheduler/scheduler.ts';
import type { Liveness } from './liveness.ts';
import { HEARTBEATS_PATH } from './liveness-pull.ts';

export interface LivenessRouteDeps {
  liveness: Liveness;
  scheduler: Scheduler;
  registry: RegistryService;
  clock(): number;
}

export function livenessRoutes(app: FastifyInstance, d: LivenessRouteDeps): void {
  app.get(HEARTBEATS_PATH, async () => ({ now: d.clock(), node_hash: d.scheduler.nodeHash, heartbeats: d.liveness.heartbeats() }));

  app.get('/api/v0/network/ccns', async () => {
    const now = d.clock();
    const self = d.scheduler.nodeHash;
    const { value } = await d.registry.snapshot();
    const ownership = d.scheduler.ownership();
    const s = d.liveness.settings;
    const workloads = (ownership?.list ?? []).map((o) => ({ item_hash: o.itemHash, manager: o.manager, rule: o.rule, reason: o.reason, crn: o.crnHash, losers: o.losers }));
    const ccns = value.nodes.map((n) => {
      const e = d.liveness.entry(n.hash);
      const status = n.hash === self ? 'self' : !e ? 'unknown' : d.liveness.isLive(n.hash) ? 'live' : 'down';
      return {
        node_hash: n.hash,
        name: n.name,
        owner: n.owner,
        manager: n.manager,
        status,
        url: e?.payload.url || null,
        last_heartbeat: e ? { time: e.payload.time, age_seconds: Math.max(0, now - e.payload.time), received_at: e.receivedAt, source: e.source } : null,
        schedules: e ? e.payload.schedules : null,
        crns: (e?.payload.crns ?? []).map((c) => ({
          hash: c.hash,
          health: c.health,
          linked_here: value.resource_nodes.some((r) => r.hash === c.hash && r.parent === n.hash && r.status === 'linked'),
          workloads: c.workloads.map((w) => w.item_hash),
        })),
        unplaced: e?.payload.unplaced ?? [],
        manages: workloads.filter((w) => w.manager === n.hash).map((w) => ({ item_hash: w.item_hash, rule: w.rule, reason: w.reason, crn: w.crn })),
      };
    });
    return {
      now,
      node_hash: self,
      heartbeat_interval_seconds: s.heartbeatIntervalSeconds,
      ccn_down_after_seconds: s.ccnDownAfterSeconds,
      clock_offset_seconds: d.liveness.clockOffset(),
      fenced: d.liveness.fenced(),
      decided_at: ownership?.at ?? null,
      ccns,
      workloads,
      orphan_probes: d.liveness.probes(),
    };
  });
}
