/** `/about/*` and `/v2/about/*`: capacity, execution lists, records, operator login. */
import { timingSafeEqual } from 'node:crypto';
import { loadavg, cpus, arch, freemem, totalmem } from 'node:os';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ExecutionNetwork } from '@aleph-nodes/vmm';
import { HttpError } from '@aleph-nodes/service';
import { CRN_ERRORS } from '../../errors.ts';
import { freeDiskMib } from '../../execution/admission.ts';
import type { Execution } from '../../execution/execution.ts';
import { paymentView } from '../../payments/node-payments.ts';
import type { ApiContext } from '../context.ts';
import { isNodeHost } from '../node-host.ts';
import { NODE_COOKIE } from '../program-headers.ts';

/** `mapped_ports` of the v2 list: `{"22": {"host": 24000, "tcp": true, "udp": false}}`. */
function mappedPorts(network: ExecutionNetwork): Record<string, { host: number; tcp: boolean; udp: boolean }> {
  const out: Record<string, { host: number; tcp: boolean; udp: boolean }> = {};
  for (const f of network.portForwards) out[String(f.guestPort)] = { host: f.hostPort, tcp: f.tcp, udp: f.udp };
  return out;
}

/** The v1 shape; backends with a VM network report its subnet, the process backend its /30. */
function networking(exec: Execution): Record<string, unknown> {
  const handle = exec.handle;
  if (!handle || !exec.live) return {};
  if (handle.network) return { ipv4: handle.network.ipv4Network, ipv6: handle.network.ipv6Network ?? null };
  return { ipv4: `${handle.endpoint.host}/30` };
}

/** The v2 shape (reference §3.2): where SDKs and the CLI find the SSH endpoint of an instance. */
function networkingV2(exec: Execution): Record<string, unknown> {
  const handle = exec.handle;
  if (!handle || !exec.live) return {};
  const network = handle.network;
  if (network) {
    return { ipv4_network: network.ipv4Network, ipv4_ip: network.ipv4Ip, host_ipv4: network.hostIpv4, ipv6_network: network.ipv6Network ?? null, ipv6_ip: network.ipv6Ip ?? null, mapped_ports: mappedPorts(network) };
  }
  // The process backend: a /30 per workload, no IPv6 and no port mappings.
  return { ipv4_network: `${handle.endpoint.host}/30`, ipv4_ip: handle.endpoint.host, host_ipv4: null, ipv6_network: null, ipv6_ip: null, mapped_ports: {} };
}

/** The operator routes: no CORS (server.ts), never on a program's host, never framed. */
export const OPERATOR_PATHS: ReadonlySet<string> = new Set(['/about/login', '/about/config', '/about/executions/details']);

/**
 * The operator cookie (reference §2.3) with what keeps it from programs: HttpOnly (no script
 * reads it), Secure (HTTPS only; browsers treat http://localhost as secure), SameSite=Strict
 * (not sent on requests a page of another site, or a sandboxed path-form program page, starts),
 * Path=/about (the operator routes are all under it, so it is not sent to /vm/…; the proxy also
 * strips it, see program-headers.ts). Host-only: no Domain, so not sent to program hosts.
 */
function operatorCookie(token: string): string {
  return `${NODE_COOKIE}=${token}; HttpOnly; Secure; SameSite=Strict; Path=/about`;
}

function cookieTokens(header: string | undefined): string[] {
  const out: string[] = [];
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq >= 0 && part.slice(0, eq).trim() === NODE_COOKIE) out.push(part.slice(eq + 1).trim());
  }
  return out;
}

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export async function aboutRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  app.get('/about/usage/system', async () => {
    const [load1, load5, load15] = loadavg() as [number, number, number];
    const committed = ctx.supervisor.committed();
    const disk = freeDiskMib(ctx.config.dataDir);
    const freeMemKb = Math.floor(freemem() / 1024);
    const unreservedMemKb = Math.max(0, (ctx.capacity.memoryMib - committed.memoryMib) * 1024);
    const speeds = cpus().map((c) => c.speed).filter((s) => s > 0);
    const start = new Date(Math.floor(Date.now() / 60_000) * 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    return {
      cpu: {
        count: cpus().length,
        load_average: { load1, load5, load15 },
        ...(speeds.length > 0 ? { core_frequencies: { min: Math.min(...speeds), max: Math.max(...speeds) } } : {}),
      },
      mem: { total_kB: Math.floor(totalmem() / 1024), available_kB: Math.min(freeMemKb, unreservedMemKb) },
      disk: {
        total_kB: disk.totalMib * 1024,
        available_kB: Math.max(0, (disk.freeMib - ctx.capacity.reservedDiskMib - committed.diskMib) * 1024),
      },
      period: { start_timestamp: start, duration_seconds: 60 },
      properties: { cpu: { architecture: arch() === 'x64' ? 'x86_64' : arch(), vendor: cpus()[0]?.model.includes('AMD') ? 'AuthenticAMD' : 'GenuineIntel', features: [] } },
      gpu: { devices: [], available_devices: [] },
      active: true,
    };
  });

  app.get('/about/capability', async () => ({
    cpu: { architecture: arch() === 'x64' ? 'x86_64' : arch(), vendor: cpus()[0]?.model ?? 'unknown', features: [], model: cpus()[0]?.model ?? 'unknown', frequency: cpus()[0]?.speed ?? 0, count: cpus().length },
    memory: { size: Math.floor(totalmem() / 1048576), units: 'MiB', type: 'unknown', clock: 0, clock_units: 'MHz' },
  }));

  app.get('/about/executions/list', async () => {
    const out: Record<string, unknown> = {};
    for (const exec of ctx.supervisor.liveExecutions()) {
      if (exec.state !== 'running') continue;
      out[exec.ref] = { networking: networking(exec), vm_type: exec.vmType, awaiting_confidential_init: false };
    }
    return out;
  });

  app.get('/v2/about/executions/list', async () => {
    const out: Record<string, unknown> = {};
    for (const rec of ctx.records.all()) {
      const exec = ctx.supervisor.find(rec.ref);
      out[rec.ref] = {
        networking: exec ? networkingV2(exec) : {},
        status: exec
          ? exec.times
          : { defined_at: rec.definedAt, preparing_at: null, prepared_at: null, starting_at: null, started_at: rec.startedAt, stopping_at: null, stopped_at: rec.stoppedAt },
        running: exec?.state === 'running',
        state: exec?.state ?? rec.state,
        awaiting_confidential_init: false,
        vm_type: rec.vmType,
        // Not in the reference: the payment check's last verdict, and why the node stopped it.
        ...paymentView(ctx.payments, exec),
        ...(!exec && rec.lastError?.startsWith('payment_lapsed') ? { stop_reason: 'payment_lapsed', last_error: rec.lastError } : {}),
      };
    }
    return out;
  });

  app.get('/about/executions/records', async () =>
    ctx.records.all().map((r) => ({
      vm_hash: r.ref,
      vm_type: r.vmType,
      persistent: r.persistent,
      state: r.state,
      owner_stopped: r.ownerStopped,
      owner: r.owner,
      vcpus: r.vcpus,
      memory: r.memoryMib,
      disk_mib: r.diskMib,
      memory_peak_mib: r.memoryPeakMib,
      time_defined: r.definedAt,
      time_started: r.startedAt,
      time_stopped: r.stoppedAt,
      last_error: r.lastError,
      message: JSON.parse(r.message).message as unknown,
    })),
  );

  /**
   * Every operator route: only on the node's own host (404 elsewhere, as an unknown route), and
   * answers that no page may frame, cache or leak through a Referer.
   */
  const operatorPage = (request: FastifyRequest, reply: FastifyReply): void => {
    if (!isNodeHost(request.headers.host, ctx.config.domain)) {
      throw new HttpError('NOT_FOUND', 404, `No route for ${request.method} ${(request.raw.url ?? '/').split('?')[0]}`);
    }
    reply.header('x-frame-options', 'DENY');
    reply.header('content-security-policy', "frame-ancestors 'none'");
    reply.header('cache-control', 'no-store');
    reply.header('referrer-policy', 'no-referrer');
  };

  app.get<{ Querystring: { token?: unknown } }>('/about/login', async (request, reply) => {
    operatorPage(request, reply);
    const token = request.query.token;
    if (typeof token === 'string' && token !== '' && sameToken(token, ctx.loginToken)) {
      return reply.header('set-cookie', operatorCookie(ctx.loginToken)).redirect('/about/config', 302);
    }
    return reply.status(401).send({ success: false });
  });

  const operatorOnly = (request: FastifyRequest, reply: FastifyReply): void => {
    operatorPage(request, reply);
    if (!cookieTokens(request.headers.cookie).some((t) => sameToken(t, ctx.loginToken))) throw CRN_ERRORS.error('LOGIN_REQUIRED');
  };
  app.get('/about/config', async (request, reply) => {
    operatorOnly(request, reply);
    return ctx.config;
  });
  app.get('/about/executions/details', async (request, reply) => {
    operatorOnly(request, reply);
    const out: Record<string, unknown> = {};
    for (const exec of ctx.supervisor.liveExecutions()) {
      out[exec.ref] = { state: exec.state, times: exec.times, resources: exec.resources, inflight: exec.inflight, persistent: exec.persistent, endpoint: exec.handle?.endpoint ?? null };
    }
    return out;
  });
}
