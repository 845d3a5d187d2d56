/**
 * Prometheus metrics of one node instance (its own registry, never the global one). Names follow
 * the Prometheus conventions: `crn_` prefix, base units in the name (`_seconds`, `_bytes`),
 * `_total` for counters; the process's own metrics (CPU, memory, event loop) under the standard
 * `process_`/`nodejs_` names. Documented in packages/crn/README.md (Metrics).
 */
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { freeDiskMib, type CapacitySettings } from './execution/admission.ts';
import type { Supervisor } from './execution/supervisor.ts';
import type { PaymentChecker } from './payments/checker.ts';
import type { DownloadCache } from './storage/download-cache.ts';

export interface CrnMetrics {
  registry: Registry;
  programRequests: Counter<'outcome'>;
  programRequestSeconds: Histogram<string>;
  executionTransitions: Counter<'state'>;
  /** Wires the gauges read at scrape time. */
  bind(supervisor: Supervisor, cache: DownloadCache): void;
  /** HTTP metrics of the API server and the gauges of the node's settings (server.ts). */
  instrument(app: FastifyInstance, node: InstrumentedNode): void;
  /** One answered request in the HTTP metrics (route: its pattern, never the raw URL). */
  observeHttp(method: string, route: string, status: number, seconds: number): void;
}

export interface InstrumentedNode {
  capacity: CapacitySettings;
  payments?: PaymentChecker;
  serverHeader: string;
  config: { executor: string };
}

const MIB = 1048576;

export function createMetrics(): CrnMetrics {
  const registry = new Registry();
  let supervisor: Supervisor | undefined;
  let cache: DownloadCache | undefined;
  let node: InstrumentedNode | undefined;
  collectDefaultMetrics({ register: registry });
  const programRequests = new Counter({ name: 'crn_program_requests_total', help: 'Requests forwarded to programs, by outcome (ok or an error code)', labelNames: ['outcome'], registers: [registry] });
  const programRequestSeconds = new Histogram({ name: 'crn_program_request_seconds', help: 'Time to answer a program request, start included', registers: [registry], buckets: [0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30] });
  const executionTransitions = new Counter({ name: 'crn_execution_transitions_total', help: 'Execution state changes, by new state', labelNames: ['state'], registers: [registry] });
  new Gauge({
    name: 'crn_executions',
    help: 'Live executions by state',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      this.reset();
      for (const exec of supervisor?.liveExecutions() ?? []) this.inc({ state: exec.state });
    },
  });
  new Gauge({
    name: 'crn_committed_resources',
    help: 'Resources reserved by live executions (vcpus, memory_mib, disk_mib)',
    labelNames: ['resource'],
    registers: [registry],
    collect() {
      const c = supervisor?.committed() ?? { vcpus: 0, memoryMib: 0, diskMib: 0 };
      this.set({ resource: 'vcpus' }, c.vcpus);
      this.set({ resource: 'memory_mib' }, c.memoryMib);
      this.set({ resource: 'disk_mib' }, c.diskMib);
    },
  });
  new Gauge({
    name: 'crn_committed_vcpus',
    help: 'vCPUs reserved by live executions',
    registers: [registry],
    collect() {
      this.set(supervisor?.committed().vcpus ?? 0);
    },
  });
  new Gauge({
    name: 'crn_committed_memory_bytes',
    help: 'Memory reserved by live executions, in bytes',
    registers: [registry],
    collect() {
      this.set((supervisor?.committed().memoryMib ?? 0) * MIB);
    },
  });
  new Gauge({
    name: 'crn_committed_disk_bytes',
    help: 'Disk reserved by live executions (volumes), in bytes',
    registers: [registry],
    collect() {
      this.set((supervisor?.committed().diskMib ?? 0) * MIB);
    },
  });
  new Gauge({
    name: 'crn_capacity_vcpus',
    help: 'vCPUs this node hands out (net of reserves and overcommit)',
    registers: [registry],
    collect() {
      this.set(node?.capacity.vcpus ?? 0);
    },
  });
  new Gauge({
    name: 'crn_capacity_memory_bytes',
    help: 'Memory this node hands out (net of reserves and overcommit), in bytes',
    registers: [registry],
    collect() {
      this.set((node?.capacity.memoryMib ?? 0) * MIB);
    },
  });
  new Gauge({
    name: 'crn_disk_free_bytes',
    help: 'Free space of the file system holding the data directory, in bytes',
    registers: [registry],
    collect() {
      if (node) this.set(freeDiskMib(node.capacity.dataDir).freeMib * MIB);
    },
  });
  new Gauge({
    name: 'crn_payment_verdicts',
    help: 'Live executions by the last payment verdict (paid, unpaid, unknown); empty when payments are not enforced',
    labelNames: ['verdict'],
    registers: [registry],
    collect() {
      this.reset();
      const checker = node?.payments;
      if (!checker?.enforced) return;
      for (const exec of supervisor?.liveExecutions() ?? []) {
        const v = checker.verdict(exec.ref);
        if (v) this.inc({ verdict: v.kind === 'unpaid' || v.kind === 'unknown' ? v.kind : 'paid' });
      }
    },
  });
  const buildInfo = new Gauge({ name: 'crn_build_info', help: 'Always 1: the node version and executor as labels', labelNames: ['version', 'executor'], registers: [registry] });
  const httpRequests = new Counter({ name: 'crn_http_requests_total', help: 'HTTP requests answered, by method, route pattern and status code', labelNames: ['method', 'route', 'status_code'], registers: [registry] });
  const httpSeconds = new Histogram({
    name: 'crn_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by method and route pattern',
    labelNames: ['method', 'route'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const observeHttp = (method: string, route: string, status: number, seconds: number): void => {
    httpRequests.inc({ method, route, status_code: String(status) });
    httpSeconds.observe({ method, route }, seconds);
  };
  new Gauge({
    name: 'crn_download_cache_bytes',
    help: 'Bytes held by the download cache',
    registers: [registry],
    collect() {
      this.set(cache?.totalBytes ?? 0);
    },
  });
  return {
    registry,
    programRequests,
    programRequestSeconds,
    executionTransitions,
    bind(s, c) {
      supervisor = s;
      cache = c;
    },
    instrument(app, n) {
      node = n;
      buildInfo.set({ version: n.serverHeader.split('/')[1] ?? n.serverHeader, executor: n.config.executor }, 1);
      app.addHook('onResponse', async (request, reply) => {
        // The route pattern, never the raw URL: the label set stays bounded whatever is asked.
        observeHttp(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
      });
    },
    observeHttp,
  };
}
