/**
 * Prometheus metrics of one CCN (its own registry, never prom-client's global one: tests run
 * several nodes in one process). Conventional names: `ccn_` prefix, base units in the name,
 * `_total` for counters; the process's own metrics under the standard `process_`/`nodejs_` names.
 * pyaleph's two series (`pyaleph_build_info`, `pyaleph_status_sync_messages_total`) are kept for
 * dashboards made for pyaleph. Gauges are read at scrape time. Documented in packages/ccn/README.md.
 */
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ApiContext } from './api/context.ts';

export interface CcnMetrics {
  registry: Registry;
  /** Counts every HTTP answer of `app` (by route pattern, so the label set stays bounded). */
  instrument(app: FastifyInstance): void;
}

export function createCcnMetrics(ctx: ApiContext): CcnMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const counts = (): Promise<Record<string, number>> => ctx.stores.messages.countByStatus();

  new Gauge({
    name: 'ccn_build_info',
    help: 'Always 1: the node version as a label',
    labelNames: ['version'],
    registers: [registry],
    collect() {
      this.set({ version: ctx.version }, 1);
    },
  });
  new Gauge({
    name: 'pyaleph_build_info',
    help: 'Version of the node software (pyaleph name)',
    labelNames: ['version'],
    registers: [registry],
    collect() {
      this.set({ version: ctx.version }, 1);
    },
  });
  const byStatus = async (gauge: Gauge<'status'>): Promise<void> => {
    gauge.reset();
    for (const [status, n] of Object.entries(await counts())) gauge.set({ status }, n);
  };
  new Gauge({
    name: 'ccn_messages',
    help: 'Messages held, by status (pending, processed, rejected, forgotten, removing, removed)',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      await byStatus(this);
    },
  });
  new Gauge({
    name: 'pyaleph_status_sync_messages_total',
    help: 'Messages by status (pyaleph name)',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      await byStatus(this);
    },
  });
  new Gauge({
    name: 'ccn_files_pinned',
    help: 'Files kept (pinned by at least one message)',
    registers: [registry],
    async collect() {
      this.set(await ctx.stores.files.totalPins());
    },
  });
  new Gauge({
    name: 'ccn_registry_nodes',
    help: 'Nodes in the registry, by kind (ccn, crn) and status',
    labelNames: ['kind', 'status'],
    registers: [registry],
    async collect() {
      this.reset();
      const { value } = await ctx.registry.snapshot();
      for (const n of value.nodes) this.inc({ kind: 'ccn', status: n.status });
      for (const n of value.resource_nodes) this.inc({ kind: 'crn', status: n.status });
    },
  });
  new Gauge({
    name: 'ccn_linked_crns',
    help: 'CRNs linked to this CCN, by health as its monitor sees them',
    labelNames: ['health'],
    registers: [registry],
    collect() {
      this.reset();
      for (const c of ctx.network?.scheduler.crns() ?? []) this.inc({ health: ctx.network?.monitor.status(c.hash)?.health ?? 'unknown' });
    },
  });
  new Gauge({
    name: 'ccn_allocations',
    help: 'Persistent workloads this node placed, by push status',
    labelNames: ['push_status'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const row of await ctx.stores.allocations.list()) this.inc({ push_status: row.push_status ?? 'none' });
    },
  });
  new Gauge({
    name: 'ccn_sync_last_seq',
    help: 'Sequence number of the last message this node holds (anti-entropy)',
    registers: [registry],
    async collect() {
      const s = await ctx.sync?.status();
      if (s) this.set(s.last_seq);
    },
  });
  new Gauge({
    name: 'ccn_sync_peer_lag_messages',
    help: 'Messages a peer holds that this node has not pulled yet, by peer URL',
    labelNames: ['peer'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const p of (await ctx.sync?.status())?.peers ?? []) this.set({ peer: p.url }, p.lag);
    },
  });
  new Gauge({
    name: 'ccn_p2p_peers_connected',
    help: 'libp2p peers connected',
    registers: [registry],
    collect() {
      const connected = ctx.p2p?.()?.status().connected;
      this.set(Array.isArray(connected) ? connected.length : 0);
    },
  });
  const httpRequests = new Counter({ name: 'ccn_http_requests_total', help: 'HTTP requests answered, by method, route pattern and status code', labelNames: ['method', 'route', 'status_code'], registers: [registry] });
  const httpSeconds = new Histogram({
    name: 'ccn_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by method and route pattern',
    labelNames: ['method', 'route'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  return {
    registry,
    instrument(app) {
      app.addHook('onResponse', async (request, reply) => {
        const route = request.routeOptions.url ?? 'unmatched';
        httpRequests.inc({ method: request.method, route, status_code: String(reply.statusCode) });
        httpSeconds.observe({ method: request.method, route }, reply.elapsedTime / 1000);
      });
    },
  };
}
