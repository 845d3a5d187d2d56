/**
 * The web console (packages/console) under `/console/`, and the usage history its charts draw
 * (`GET /console/api/usage`: one sample every `consoleSampleSeconds`, the last hour kept). Only on
 * the node's own host: a program's host never serves the console (404, as the operator pages).
 */
import { loadavg, freemem, totalmem } from 'node:os';
import { consoleAnswer, loadConsole, type ConsoleBundle } from '@aleph-nodes/console';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HttpError } from '@aleph-nodes/service';
import { freeDiskMib } from '../../execution/admission.ts';
import type { ApiContext } from '../context.ts';
import { isNodeHost } from '../node-host.ts';

export interface UsageSample {
  /** Unix seconds. */
  t: number;
  load1: number;
  memory_used_mib: number;
  memory_total_mib: number;
  committed_vcpus: number;
  committed_memory_mib: number;
  disk_free_mib: number;
  executions: number;
}

const SAMPLE_MS = 10_000;
const KEEP = 360;

function sample(ctx: ApiContext): UsageSample {
  const committed = ctx.supervisor.committed();
  return {
    t: Math.floor(Date.now() / 1000),
    load1: loadavg()[0] ?? 0,
    memory_used_mib: Math.round((totalmem() - freemem()) / 1048576),
    memory_total_mib: Math.round(totalmem() / 1048576),
    committed_vcpus: committed.vcpus,
    committed_memory_mib: committed.memoryMib,
    disk_free_mib: freeDiskMib(ctx.config.dataDir).freeMib,
    executions: ctx.supervisor.liveExecutions().length,
  };
}

export async function consoleRoutes(app: FastifyInstance, ctx: ApiContext, bundle: ConsoleBundle = loadConsole()): Promise<void> {
  const history: UsageSample[] = [];
  const record = (): void => {
    history.push(sample(ctx));
    if (history.length > KEEP) history.shift();
  };
  record();
  const timer = setInterval(record, SAMPLE_MS);
  timer.unref();
  app.addHook('onClose', async () => clearInterval(timer));

  const nodeHostOnly = (request: FastifyRequest): void => {
    if (!isNodeHost(request.headers.host, ctx.config.domain)) {
      throw new HttpError('NOT_FOUND', 404, `No route for ${request.method} ${(request.raw.url ?? '/').split('?')[0]}`);
    }
  };
  const serve = (request: FastifyRequest, reply: FastifyReply, rest: string): FastifyReply => {
    nodeHostOnly(request);
    const answer = consoleAnswer(bundle, 'crn', rest);
    return reply.status(answer.status).headers(answer.headers).type(answer.type).send(answer.body);
  };
  app.get('/console', async (_request, reply) => reply.redirect('/console/', 302));
  app.get<{ Params: { '*': string } }>('/console/*', async (request, reply) => serve(request, reply, request.params['*']));
  // Registered after the wildcard: Fastify prefers the static route.
  app.get('/console/api/usage', async (request, reply) => {
    nodeHostOnly(request);
    reply.header('cache-control', 'no-store');
    return { interval_seconds: SAMPLE_MS / 1000, samples: [...history, sample(ctx)] };
  });
}
