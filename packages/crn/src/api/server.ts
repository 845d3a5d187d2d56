/**
 * The CRN HTTP surface. Order follows the reference: specific routes, then `/vm/{ref}{suffix}`,
 * then host routing. Every response carries `Server: <name>/<version>`; the read-only and owner
 * routes allow any origin (CORS, crn-api.md §1).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import websocket from '@fastify/websocket';
import { installErrorHandlers } from '@aleph-nodes/service';
import type { Agent } from 'undici';
import { AuthState } from '../db/auth-state.ts';
import type { ApiContext } from './context.ts';
import { aboutRoutes, OPERATOR_PATHS } from './routes/about.ts';
import { allocationRoutes } from './routes/allocations.ts';
import { consoleRoutes } from './routes/console.ts';
import { machineRoutes } from './routes/machine.ts';
import { reserveRoutes } from './routes/reserve.ts';
import { openapiDocRoutes } from './routes/openapi.ts';
import { statusRoutes } from './routes/status.ts';
import { PROGRAM_BODY_LIMIT, vmProxyRoutes, type VmProxyDeps } from './routes/vm-proxy.ts';
import { vmProxyFastPath } from './routes/vm-proxy-fast.ts';

const CORS_PREFIXES = ['/about/', '/v2/about/', '/status/', '/control/machine/', '/control/allocation/notify', '/control/reserve_resources'];

export async function buildServer(ctx: ApiContext, agent: Agent): Promise<FastifyInstance> {
  // Fastify's default request logging writes two info lines per request, which on the program
  // path cost more than the proxying itself (measured by `npm run bench`): one access line at
  // debug level instead.
  // trustProxy: behind the HTTPS reverse proxy every connection comes from it; its
  // X-Forwarded-For names the client that per-address limits (stream_logs) count.
  const app = Fastify({
    loggerInstance: ctx.logger as FastifyBaseLogger,
    bodyLimit: PROGRAM_BODY_LIMIT,
    return503OnClosing: true,
    disableRequestLogging: true,
    ...(ctx.config.trustProxy.length > 0 ? { trustProxy: ctx.config.trustProxy } : {}),
  });
  // Replay state of signed control traffic, in the node's database (kept across restarts).
  const auth = new AuthState(ctx.records.database, { maxOwnerOperations: ctx.config.maxOwnerOperations });
  installErrorHandlers(app);
  ctx.metrics.instrument(app, ctx);
  openapiDocRoutes(app, ctx);
  app.addHook('onResponse', async (request, reply) => {
    request.log.debug({ method: request.method, url: request.url, status: reply.statusCode, ms: reply.elapsedTime }, 'request');
  });
  await app.register(websocket, { options: { maxPayload: 64 * 1024 } });

  app.addHook('onRequest', async (request, reply) => {
    reply.header('server', ctx.serverHeader);
    const path = (request.raw.url ?? '/').split('?')[0] ?? '/';
    // The operator routes never answer another origin (a program's host is one): no CORS.
    if (CORS_PREFIXES.some((p) => path.startsWith(p)) && !OPERATOR_PATHS.has(path)) {
      reply.header('access-control-allow-origin', request.headers.origin ?? '*');
      reply.header('access-control-allow-credentials', 'true');
      reply.header('access-control-expose-headers', '*');
      if (request.method === 'OPTIONS') {
        reply.header('access-control-allow-methods', 'GET, POST, DELETE, OPTIONS');
        reply.header('access-control-allow-headers', request.headers['access-control-request-headers'] ?? '*');
        return reply.status(204).send();
      }
    }
    return undefined;
  });

  app.get('/', async (_request, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .send(`<!doctype html><html><head><title>Compute Resource Node</title></head><body><h1>Compute Resource Node</h1><p>${ctx.serverHeader}, executor ${ctx.config.executor}, node ${ctx.address}.</p><p><a href="/about/usage/system">usage</a> · <a href="/about/executions/list">executions</a> · <a href="/status/config">config</a></p></body></html>`),
  );
  app.get('/metrics', async (_request, reply) => reply.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics()));

  await app.register(async (scope) => aboutRoutes(scope, ctx));
  await app.register(async (scope) => statusRoutes(scope, ctx));
  await app.register(async (scope) => allocationRoutes(scope, ctx, auth));
  await app.register(async (scope) => machineRoutes(scope, ctx, auth));
  await app.register(async (scope) => reserveRoutes(scope, ctx, auth));
  await app.register(async (scope) => consoleRoutes(scope, ctx));
  const proxyDeps: VmProxyDeps = {
    supervisor: ctx.supervisor,
    domain: ctx.config.domain,
    serverHeader: ctx.serverHeader,
    agent,
    metrics: ctx.metrics,
    isDraining: ctx.isDraining,
    pathSandbox: ctx.config.programPathSandbox,
  };
  await app.register(async (scope) => vmProxyRoutes(scope, proxyDeps));
  // Path-form program requests are taken before Fastify's lifecycle (vm-proxy-fast.ts: it cost
  // as much as the proxying); every other request, and any `/vm/` URL the fast path does not
  // recognize, goes to Fastify's own handler as before. The server itself stays Fastify's.
  const fast = vmProxyFastPath({ ...proxyDeps, observeHttp: (method, route, status, seconds) => ctx.metrics.observeHttp(method, route, status, seconds) });
  const [fastifyHandler] = app.server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
  if (fastifyHandler) {
    app.server.removeListener('request', fastifyHandler);
    app.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      if (!fast(req, res)) fastifyHandler(req, res);
    });
  }
  return app;
}
