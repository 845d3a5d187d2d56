/** `/about/*` and `/v2/about/*`: capacity, execution lists, records, operator login. */
import { timingSafeEqual } from 'node:crypto';
import { cpus, arch, totalmem } from 'node:os';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ExecutionListV1Entry, ExecutionListV2Entry, ExecutionRecordView, SystemUsageAnswer } from '@aleph-nodes/protocol';
import { isItemHash } from '@aleph-nodes/protocol';
import { HttpError } from '@aleph-nodes/service';
import { CRN_ERRORS } from '../../errors.ts';
import { freeDiskMib } from '../../execution/admission.ts';
import { paymentView } from '../../payments/node-payments.ts';
import type { ApiContext } from '../context.ts';
import { isNodeHost } from '../node-host.ts';
import { NODE_COOKIE } from '../program-headers.ts';
import { detailViews, listV1, listV2, recordViews } from './execution-views.ts';
import { systemUsage } from './system-usage.ts';

/** The operator routes: no CORS (server.ts), never on a program's host, never framed. */
export const OPERATOR_PATHS: ReadonlySet<string> = new Set(['/about/login', '/about/config', '/about/executions/details', '/about/executions/logs']);

/**
 * The operator cookie (crn-api.md §2.3) with what keeps it from programs: HttpOnly (no script
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
  app.get('/about/usage/system', async (): Promise<SystemUsageAnswer> => {
    const committed = ctx.supervisor.committed();
    const disk = freeDiskMib(ctx.config.dataDir);
    return systemUsage({
      committed,
      memoryMib: ctx.capacity.memoryMib,
      disk: { totalMib: disk.totalMib, availableMib: disk.freeMib - ctx.capacity.reservedDiskMib - committed.diskMib },
    });
  });

  app.get('/about/certificates', async () => {
    // aleph-vm serves the AMD SEV platform certificates (a 503 when confidential computing is
    // off); no backend of ours runs confidential VMs, so there are none to serve.
    throw CRN_ERRORS.error('CONFIDENTIAL_UNSUPPORTED');
  });

  app.get('/about/capability', async () => ({
    cpu: { architecture: arch() === 'x64' ? 'x86_64' : arch(), vendor: cpus()[0]?.model ?? 'unknown', features: [], model: cpus()[0]?.model ?? 'unknown', frequency: cpus()[0]?.speed ?? 0, count: cpus().length },
    memory: { size: Math.floor(totalmem() / 1048576), units: 'MiB', type: 'unknown', clock: 0, clock_units: 'MHz' },
  }));

  app.get('/about/executions/list', async (): Promise<Record<string, ExecutionListV1Entry>> => listV1(ctx.supervisor.liveExecutions()));

  app.get('/v2/about/executions/list', async (): Promise<Record<string, ExecutionListV2Entry>> =>
    listV2({
      records: ctx.records.all(),
      find: (ref) => ctx.supervisor.find(ref),
      // Not in the reference: the payment check's last verdict, and why the node stopped it.
      extras: (exec) => paymentView(ctx.payments, exec),
    }),
  );

  app.get('/about/executions/records', async (): Promise<ExecutionRecordView[]> =>
    recordViews(ctx.records.all(), (ref) => {
      const exec = ctx.supervisor.find(ref);
      return exec?.live ? exec.handle?.network?.portForwards : undefined;
    }),
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
    return detailViews(ctx.supervisor.liveExecutions());
  });
  // The console's log view: the recent lines of any execution, for the operator (the owner reads
  // its own through the signed /control/machine/{ref}/logs).
  app.get<{ Querystring: { ref?: unknown } }>('/about/executions/logs', async (request, reply) => {
    operatorOnly(request, reply);
    const ref = request.query.ref;
    if (typeof ref !== 'string' || !isItemHash(ref)) throw CRN_ERRORS.error('INVALID_REF');
    const exec = ctx.supervisor.find(ref);
    return { ref, lines: exec ? exec.logs() : (ctx.records.get(ref)?.lastLogs ?? []) };
  });
}
