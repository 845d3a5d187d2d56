/**
 * The web console (packages/console) under `/console/`, and the usage history its charts draw
 * (`GET /console/api/usage`: one sample every 10 s, the last hour kept). Only on
 * the node's own host: on a program's host these paths are the program's (host routing).
 */
import { loadavg, freemem, totalmem } from 'node:os';
import { consoleAnswer, loadConsole, type ConsoleBundle } from '@aleph-nodes/console';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { freeDiskMib } from '../../execution/admission.ts';
import type { ApiContext } from '../context.ts';
import { nodeHostConstraint } from '../node-host.ts';

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

  const constraints = nodeHostConstraint(ctx.config.domain);
  const serve = (reply: FastifyReply, rest: string): FastifyReply => {
    const answer = consoleAnswer(bundle, 'crn', rest);
    return reply.status(answer.status).headers(answer.headers).type(answer.type).send(answer.body);
  };
  app.get('/console', { constraints }, async (_request, reply) => reply.redirect('/console/', 302));
  app.get<{ Params: { '*': string } }>('/console/*', { constraints }, async (request, reply) => serve(reply, request.params['*']));
  app.get('/console/api/usage', { constraints }, async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    return { interval_seconds: SAMPLE_MS / 1000, samples: [...history, sample(ctx)] };
  });
}
