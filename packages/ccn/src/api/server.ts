/** The Fastify application of the CCN API: one module per resource. */
import multipart from '@fastify/multipart';
import websocket from '@fastify/websocket';
import { installErrorHandlers, type Logger } from '@aleph-nodes/service';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { installJsonParsers } from './body-parsers.ts';
import type { ApiContext } from './context.ts';
import { InFlightLimiter, uploadGate } from './in-flight.ts';
import { addressesRoutes } from './routes/addresses.ts';
import { aggregatesRoutes } from './routes/aggregates.ts';
import { allocationsRoutes } from './routes/allocations.ts';
import { authorizationsRoutes } from './routes/authorizations.ts';
import { balancesRoutes } from './routes/balances.ts';
import { consoleRoutes } from './routes/console.ts';
import { paymentsRoutes } from './routes/payments.ts';
import { infoRoutes } from './routes/info.ts';
import { ipfsUploadRoutes } from './routes/ipfs-upload.ts';
import { messagesReadRoutes } from './routes/messages-read.ts';
import { messagesSubmitRoutes } from './routes/messages-submit.ts';
import { messagesWsRoutes } from './routes/messages-ws.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { nodesRoutes } from './routes/nodes.ts';
import { crnListRoutes } from './routes/crn-list.ts';
import { openapiDocRoutes } from './routes/openapi.ts';
import { programsRoutes } from './routes/programs.ts';
import { postsRoutes } from './routes/posts.ts';
import { priceRoutes } from './routes/price.ts';
import { storageReadRoutes } from './routes/storage-read.ts';
import { storageUploadRoutes } from './routes/storage-upload.ts';
import { syncRoutes } from '../sync/routes.ts';
import { p2pRoutes } from '../p2p/routes.ts';

export async function buildApp(ctx: ApiContext, logger: Logger): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // A message body holds at most 200,000 characters of item_content (up to 6 bytes each once
    // JSON-escaped) plus its envelope.
    bodyLimit: 2 * 1024 * 1024,
    // Per-address limits (uploads, websockets) key on request.ip: behind a reverse proxy, the
    // client it names, and only when the proxy is one the operator listed.
    ...(ctx.config.trustedProxies.length > 0 ? { trustProxy: ctx.config.trustedProxies } : {}),
    // Slow-loris protection: a client that dribbles its headers or body is cut off.
    requestTimeout: ctx.config.requestTimeoutMs,
    connectionTimeout: ctx.config.requestTimeoutMs,
    http: {
      headersTimeout: Math.min(ctx.config.headersTimeoutMs, ctx.config.requestTimeoutMs),
      // How often node checks the two timeouts above; its default (30 s) would make short ones coarse.
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(Math.min(ctx.config.headersTimeoutMs, ctx.config.requestTimeoutMs) / 4))),
    },
  });
  installErrorHandlers(app);
  // Each upload route sets its own limits (multipart.ts); these defaults only bound a parser
  // nobody configured.
  await app.register(multipart, { limits: { fileSize: ctx.config.maxAnonymousUploadBytes, fieldSize: ctx.config.maxMetadataBytes, parts: 2 } });
  // A request answered before its body was read (refused early: 413, 429...) is not drained:
  // the connection closes after the answer, so a client cannot make the node read what it refused.
  app.addHook('onSend', async (request, reply) => {
    if (!request.raw.complete) reply.header('connection', 'close');
  });
  const uploads = uploadGate(new InFlightLimiter(ctx.config.maxUploadsInFlight, ctx.config.maxUploadsPerIp));
  await app.register(websocket, { options: { maxPayload: 64 * 1024 } });
  installJsonParsers(app, ctx.config.maxJsonBodyValues);
  openapiDocRoutes(app, ctx);
  metricsRoutes(app, ctx);
  // Each route module is a plugin given only what it uses (its `…Deps`), not the whole context.
  const { stores, processor, registry, config, network, sync, p2p, version } = ctx;
  const clock = (): number => ctx.clock();
  await app.register(messagesSubmitRoutes, { stores, processor, config, p2p });
  await app.register(messagesReadRoutes, { stores, config });
  await app.register(messagesWsRoutes, { stores, processor, config });
  await app.register(storageUploadRoutes, { stores, processor, config, p2p, clock, gate: uploads });
  await app.register(storageReadRoutes, { stores, sync });
  await app.register(ipfsUploadRoutes, { stores, processor, config, clock, gate: uploads });
  await app.register(aggregatesRoutes, { stores, registry, config });
  await app.register(addressesRoutes, { stores, config });
  await app.register(authorizationsRoutes, { stores });
  await app.register(programsRoutes, { stores });
  await app.register(nodesRoutes, { stores, registry, config, network });
  await app.register(crnListRoutes, { registry, network });
  await app.register(allocationsRoutes, { stores, registry, config, network, clock });
  await app.register(postsRoutes, { stores, config });
  await app.register(balancesRoutes, { stores, config, clock });
  await app.register(paymentsRoutes, { stores, config, clock });
  await app.register(priceRoutes, { stores, config });
  await app.register(infoRoutes, { stores, config, version, p2p });
  await app.register(syncRoutes, { stores, config, sync });
  await app.register(p2pRoutes, { p2p });
  consoleRoutes(app);
  return app;
}
