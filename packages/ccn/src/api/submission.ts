/**
 * Submitting a message and answering like the reference (aleph-protocol.md §7.1): invalid → 422 at once;
 * `sync` waits for the processing result; processed → 200, pending → 202, rejected → 422.
 * `publication_status` says whether a peer took the message (pyaleph's
 * `broadcast_and_process_message`; see p2p/publication.ts): the message accepted here is
 * published on gossip by peering (an `accepted` event), and the answer waits for that outcome.
 */
import { isProtocolError } from '@aleph-nodes/protocol';
import type { FastifyReply } from 'fastify';
import { CCN_ERRORS } from '../errors.ts';
import type { MessageStatus } from '../db/messages-repo.ts';
import { publicationStatus, type PublicationStatus } from '../p2p/publication.ts';
import type { CcnConfig } from '../config.ts';
import type { MessageProcessor } from '../processing/processor.ts';
import type { Stores } from '../stores.ts';
import type { ApiContext } from './context.ts';

/** What submitting a message uses: the processor, the rejected message's row, peering's publication. */
export interface SubmissionDeps {
  stores: Pick<Stores, 'messages'>;
  processor: Pick<MessageProcessor, 'submit' | 'waitFor'>;
  config: Pick<CcnConfig, 'syncTimeoutMs'>;
  p2p: ApiContext['p2p'];
}

export async function submitAndReply(ctx: SubmissionDeps, reply: FastifyReply, rawMessage: unknown, sync: boolean): Promise<FastifyReply> {
  const { itemHash, status, publication } = await submitMessage(ctx, rawMessage, sync);
  return replyWithStatus(ctx, reply, itemHash, status, await publication);
}

/** The publication of a message just submitted; p2p failed when peering is off. */
export function publicationOf(ctx: SubmissionDeps, itemHash: string): Promise<PublicationStatus> {
  const peering = ctx.p2p?.();
  return peering ? peering.publicationOf(itemHash) : Promise.resolve(publicationStatus(['p2p']));
}

/**
 * Validates and queues a message (422 when invalid); with `sync`, waits for the result. The
 * publication runs meanwhile (pyaleph publishes before it processes).
 */
export async function submitMessage(
  ctx: SubmissionDeps,
  rawMessage: unknown,
  sync: boolean,
): Promise<{ itemHash: string; status: MessageStatus; publication: Promise<PublicationStatus> }> {
  let result;
  try {
    result = await ctx.processor.submit(rawMessage);
  } catch (err) {
    if (isProtocolError(err)) {
      throw CCN_ERRORS.error('INVALID_MESSAGE', err.message, { code: err.code, error_code: err.alephCode, issues: err.issues });
    }
    throw err;
  }
  // Never rejects: a failure to publish is a `p2p` failure of the answer, not a 500.
  const publication = publicationOf(ctx, result.itemHash).catch(() => publicationStatus(['p2p']));
  let status: MessageStatus = result.status;
  if (sync && status === 'pending') status = await ctx.processor.waitFor(result.itemHash, ctx.config.syncTimeoutMs);
  return { itemHash: result.itemHash, status, publication };
}

const HTTP_STATUS_OF: Record<MessageStatus, number> = {
  pending: 202,
  processed: 200,
  removing: 200,
  rejected: 422,
  forgotten: 410,
  removed: 410,
};

export async function replyWithStatus(
  ctx: SubmissionDeps,
  reply: FastifyReply,
  itemHash: string,
  status: MessageStatus,
  publication: PublicationStatus,
): Promise<FastifyReply> {
  // pyaleph's BroadcastStatus body for every outcome, with its HTTP status
  // (`message_status_to_http_status`): processed or removing 200, pending 202, rejected 422,
  // forgotten or removed 410. A refusal also carries our error object (code, reason, error code).
  const body: Record<string, unknown> = { publication_status: publication, message_status: status };
  if (status === 'rejected') {
    const row = await ctx.stores.messages.get(itemHash);
    body.error = {
      code: 'MESSAGE_REJECTED',
      message: row?.error_details ?? 'the message was rejected',
      details: { item_hash: itemHash, error_code: row?.error_code ?? null },
    };
  }
  return reply.status(HTTP_STATUS_OF[status]).type('application/json').send(body);
}
