/** POST /api/v0/messages and the legacy pubsub publication routes. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { CCN_ERRORS } from '../../errors.ts';
import type { CcnConfig } from '../../config.ts';
import { submitAndReply, submitMessage, type SubmissionDeps } from '../submission.ts';

export const SubmitBody = z.object({
  sync: z.boolean().default(false),
  message: z.record(z.string(), z.unknown()),
});

export const PubsubBody = z.object({
  topic: z.string(),
  // The reference wants a JSON string; the SDK's fallback sends an object. Accept both.
  data: z.union([z.string(), z.record(z.string(), z.unknown())]),
});

/** What the submission routes use: the submission's parts (submission.ts) and the accepted pubsub topic. */
export interface MessagesSubmitDeps extends SubmissionDeps {
  config: SubmissionDeps['config'] & Pick<CcnConfig, 'pubsubTopic'>;
}

export async function messagesSubmitRoutes(app: FastifyInstance, deps: MessagesSubmitDeps): Promise<void> {
  app.post('/api/v0/messages', async (request, reply) => {
    const body = SubmitBody.safeParse(request.body);
    if (!body.success) throw CCN_ERRORS.error('INVALID_BODY', 'expected {"sync": bool, "message": {...}}', body.error.issues);
    return submitAndReply(deps, reply, body.data.message, body.data.sync);
  });

  for (const path of ['/api/v0/ipfs/pubsub/pub', '/api/v0/p2p/pubsub/pub']) {
    app.post(path, async (request, reply) => {
      const body = PubsubBody.safeParse(request.body);
      if (!body.success) throw CCN_ERRORS.error('INVALID_BODY', 'expected {"topic": string, "data": message}', body.error.issues);
      if (body.data.topic !== deps.config.pubsubTopic) throw CCN_ERRORS.error('FORBIDDEN_TOPIC', `only topic ${deps.config.pubsubTopic} is accepted`);
      let message: unknown = body.data.data;
      if (typeof message === 'string') {
        try {
          message = JSON.parse(message);
        } catch {
          throw CCN_ERRORS.error('INVALID_MESSAGE', 'data is not a JSON message');
        }
      }
      const { publication } = await submitMessage(deps, message, false);
      // These routes answer with the publication status only (pyaleph's `pub_json`: 500 only for
      // `error`, which needs two failed protocols and cannot happen here; see p2p/publication.ts).
      const status = await publication;
      return reply.status(status.status === 'error' ? 500 : 200).type('application/json').send(status);
    });
  }
}
