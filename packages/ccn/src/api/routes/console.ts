/** The web console (packages/console) under `/console/`: the CCN page, the API docs page, assets. */
import { consoleAnswer, loadConsole, type ConsoleBundle } from '@aleph-nodes/console';
import type { FastifyInstance } from 'fastify';

export function consoleRoutes(app: FastifyInstance, bundle: ConsoleBundle = loadConsole()): void {
  app.get('/console', async (_request, reply) => reply.redirect('/console/', 302));
  app.get<{ Params: { '*': string } }>('/console/*', async (request, reply) => {
    const answer = consoleAnswer(bundle, 'ccn', request.params['*']);
    return reply.status(answer.status).headers(answer.headers).type(answer.type).send(answer.body);
  });
}
