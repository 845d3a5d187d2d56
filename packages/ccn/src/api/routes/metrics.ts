/** `GET /metrics`: the node's Prometheus metrics (metrics.ts), text exposition format. */
import type { FastifyInstance } from 'fastify';
import { createCcnMetrics } from '../../metrics.ts';
import type { ApiContext } from '../context.ts';

export function metricsRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const metrics = createCcnMetrics(ctx);
  metrics.instrument(app);
  app.get('/metrics', async (_request, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));
}
