/** `/about/*` and `/v2/about/*`: capacity, execution lists, records, operator login. */
import { loadavg, cpus, arch, freemem, totalmem } from 'node:os';
import type { FastifyInstance } from 'fastify';
import type { ExecutionNetwork } from '@aleph-nodes/vmm';
import { CRN_ERRORS } from '../../errors.ts';
import { freeDiskMib } from '../../execution/admission.ts';
import type { Execution } from '../../execution/execution.ts';
import type { ApiContext } from '../context.ts';

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
  if (handle.network) return { ipv4: handle.network.ipv4Network, ipv6: null };
  return { ipv4: `${handle.endpoint.host}/30` };
}

/** The v2 shape (reference §3.2): where SDKs and the CLI find the SSH endpoint of an instance. */
function networkingV2(exec: Execution): Record<string, unknown> {
  const handle = exec.handle;
  if (!handle || !exec.live) return {};
  const network = handle.network;
  if (network) {
    return { ipv4_network: network.ipv4Network, ipv4_ip: network.ipv4Ip, host_ipv4: network.hostIpv4, ipv6_network: null, ipv6_ip: null, mapped_ports: mappedPorts(network) };
  }
  // The process backend: a /30 per workload, no IPv6 and no port mappings.
  return { ipv4_network: `${handle.endpoint.host}/30`, ipv4_ip: handle.endpoint.host, host_ipv4: null, ipv6_network: null, ipv6_ip: null, mapped_ports: {} };
}

function cookieToken(header: string | undefined): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === 'token') return v.join('=');
  }
  return undefined;
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
      message: JSON.parse(r.message).message as unknown,
    })),
  );

  app.get<{ Querystring: { token?: string } }>('/about/login', async (request, reply) => {
    const token = request.query.token;
    if (token && token === ctx.loginToken) {
      return reply.header('set-cookie', `token=${ctx.loginToken}; HttpOnly; Path=/; SameSite=Strict`).redirect('/about/config', 302);
    }
    return reply.status(401).send({ success: false });
  });

  const operatorOnly = (cookie: string | undefined): void => {
    if (cookieToken(cookie) !== ctx.loginToken) throw CRN_ERRORS.error('LOGIN_REQUIRED');
  };
  app.get('/about/config', async (request) => {
    operatorOnly(request.headers.cookie);
    return ctx.config;
  });
  app.get('/about/executions/details', async (request) => {
    operatorOnly(request.headers.cookie);
    const out: Record<string, unknown> = {};
    for (const exec of ctx.supervisor.liveExecutions()) {
      out[exec.ref] = { state: exec.state, times: exec.times, resources: exec.resources, inflight: exec.inflight, persistent: exec.persistent, endpoint: exec.handle?.endpoint ?? null };
    }
    return out;
  });
}
