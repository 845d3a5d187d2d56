/** `/status/*`: public configuration and diagnostic checks (crn-api.md §3.3, §3.4). */
import { lookup } from 'node:dns/promises';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { paymentReceiver } from '../../payments/node-payments.ts';
import type { ApiContext } from '../context.ts';
import { ccnUrls } from '../../config.ts';
import { checkDiagnosticProgram, DiagnosticClient } from './fastapi-check.ts';
import { selfUrl } from '../node-host.ts';


function parseSemver(v: string): [number, number, number] | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)$/.exec(v.trim());
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

function compareSemver(a: [number, number, number], b: [number, number, number]): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
  return 0;
}

async function reachable(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000), redirect: 'manual' });
    await res.body?.cancel();
    return true;
  } catch {
    return false;
  }
}

async function resolves(name: string, family: 4 | 6): Promise<boolean> {
  try {
    await lookup(name, { family });
    return true;
  } catch {
    return false;
  }
}

export async function statusRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  app.get('/status/config', async () => {
    // What the executor really enforces (ExecutorIsolation), read at each request, not what the
    // reference node assumes: USE_JAILER is true only when every workload (or its VMM) runs
    // jailed as its own user.
    const isolation = ctx.executor.isolation;
    return {
      DOMAIN_NAME: ctx.config.domain,
      node_hash: ctx.config.nodeHash || null,
      version: ctx.config.serverVersion,
      references: { API_SERVER: ccnUrls(ctx.config)[0], CHECK_FASTAPI_VM_ID: ctx.config.checkFastapiVmId, CONNECTOR_URL: ccnUrls(ctx.config)[0] },
      security: { USE_JAILER: isolation.jailed, PRINT_SYSTEM_LOGS: false, WATCH_FOR_UPDATES: ctx.config.messageWatch, ALLOW_VM_NETWORKING: true, USE_DEVELOPER_SSH_KEYS: false },
      // Each VM gets the n-th /124 of the range (aleph-vm's `dynamic` policy); none without a range.
      networking: { IPV6_ADDRESS_POOL: ctx.config.ipv6Range || null, IPV6_ALLOCATION_POLICY: 'dynamic', IPV6_SUBNET_PREFIX: 124, IPV6_FORWARDING_ENABLED: ctx.executor.capabilities.ipv6, USE_NDP_PROXY: false },
      debug: { SENTRY_DSN_CONFIGURED: false, DEBUG_ASYNCIO: false, EXECUTION_LOG_ENABLED: true },
      payment: {
        PAYMENT_RECEIVER_ADDRESS: paymentReceiver(ctx.config, ctx.address),
        PAYMENT_MONITOR_INTERVAL: ctx.config.enforcePayments ? ctx.config.paymentMonitorIntervalSeconds : 0,
        AVAILABLE_PAYMENTS: {},
      },
      computing: {
        ENABLE_QEMU_SUPPORT: ctx.config.executor === 'microvm',
        INSTANCE_DEFAULT_HYPERVISOR: ctx.config.executor === 'microvm' ? 'qemu' : 'none',
        ENABLE_CONFIDENTIAL_COMPUTING: false,
        ENABLE_GPU_SUPPORT: false,
      },
      executor: ctx.config.executor,
      // Not in the reference: the full isolation report of the executor, for operators and clients.
      isolation: { executor: ctx.executor.name, ...isolation },
    };
  });

  app.get<{ Querystring: { reference?: string } }>('/status/check/version', async (request, reply) => {
    const reference = parseSemver(request.query.reference ?? '');
    const current = parseSemver(ctx.config.serverVersion);
    if (!reference || !current) return reply.status(400).type('text/plain').send('Invalid or missing `reference` version');
    if (compareSemver(current, reference) >= 0) return reply.type('text/plain').send(`Up-to-date: version ${ctx.config.serverVersion} >= ${request.query.reference}`);
    return reply.status(403).type('text/plain').send(`Outdated: version ${ctx.config.serverVersion} < ${request.query.reference}`);
  });

  app.get('/status/check/host', async (_request, reply) => {
    const [v4egress, v6egress, v4dns, v6dns, v4domain, v6domain] = await Promise.all([
      reachable('https://1.1.1.1/'),
      reachable('https://[2606:4700:4700::1111]/'),
      resolves('example.org', 4),
      resolves('example.org', 6),
      resolves(ctx.config.domain, 4),
      resolves(ctx.config.domain, 6),
    ]);
    const body = {
      ipv4: { egress: v4egress, dns: v4dns, domain: v4domain, http: v4egress },
      ipv6: { egress: v6egress, dns: v6dns, domain: v6domain, http: v6egress },
    };
    const ok = v4egress && v6egress && v4dns && v6dns && v4domain && v6domain;
    return reply.status(ok ? 200 : 503).send(body);
  });

  // As aleph-vm: `vm` is what the diagnostic program answers on /ip/6 (it connects out to public
  // IPv6 services from inside its VM), false whenever it cannot answer or the executor gives VMs no IPv6.
  // The diagnostic program through this node's own /vm/{hash} route (its answers bounded there).
  const diagnosticUrl = (vmId: string): string => `${selfUrl(app.server.address())}/vm/${vmId}`;
  app.get('/status/check/ipv6', async () => {
    const vmCheck = async (): Promise<boolean> => {
      if (!ctx.executor.capabilities.ipv6) return false;
      const body = await new DiagnosticClient(diagnosticUrl(ctx.config.checkFastapiVmId), 20_000).json('/ip/6');
      return typeof body === 'object' && body !== null && (body as { result?: unknown }).result === true;
    };
    const [host, vm] = await Promise.all([reachable('https://[2606:4700:4700::1111]/'), vmCheck()]);
    return { host, vm };
  });

  // aleph-vm's: the diagnostic program through this node's own /vm/{hash} route; `retro-compatibility`
  // (and the legacy route) leave out the checks its Debian 12 runtime added.
  const FastapiQuery = z.object({ 'retro-compatibility': z.string().optional() });
  const fastapi = (vmId: string, retro: boolean) => checkDiagnosticProgram(diagnosticUrl(vmId), retro);
  app.get('/status/check/fastapi', async (request, reply) => {
    const q = FastapiQuery.safeParse(request.query);
    const retro = q.success && q.data['retro-compatibility'] === 'true';
    const { ok, result } = await fastapi(ctx.config.checkFastapiVmId, retro);
    return reply.status(ok ? 200 : 503).send(result);
  });
  app.get('/status/check/fastapi/legacy', async (_request, reply) => {
    const { ok, result } = await fastapi(ctx.config.legacyCheckFastapiVmId, true);
    return reply.status(ok ? 200 : 503).send(result);
  });
}
