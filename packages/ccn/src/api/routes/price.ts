/**
 * Prices, with pyaleph's answers (`web/controllers/prices.py`):
 * - GET /api/v0/price/{hash}[?include_size=true]: a processed (or `removing`) PROGRAM, INSTANCE or
 *   STORE; a forgotten or removed STORE priced from the owner, size and payment type kept with it;
 *   a pending message answers 102 as pyaleph (a 1xx no client can read as a final answer, so the
 *   connection is closed after it instead of leaving the client waiting); rejected/unknown 404.
 * - POST /api/v0/price/estimate: an unsigned message {item_hash, item_type, item_content, type}
 *   as the SDK builds it, with `estimated_size_mib` for files not uploaded yet.
 * - POST /api/v0/price/estimate/instance: an INSTANCE content alone (time and allow_amend optional).
 */
import {
  COST_MESSAGE_TYPES,
  isCostError,
  isProtocolError,
  isItemHash,
  LIMITS,
  parseContent,
  priceResponse,
  type CostMessageType,
  type PriceResponse,
} from '@aleph-nodes/protocol';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { MessageRow } from '../../db/messages-repo.ts';
import { CCN_ERRORS } from '../../errors.ts';
import { costOfContent, loadPricing } from '../../pricing.ts';
import type { Stores } from '../../stores.ts';
import { withoutEstimates } from './price-estimates.ts';

export const EstimateBody = z.object({
  message: z.object({
    item_type: z.enum(['inline', 'storage', 'ipfs']).optional(),
    item_hash: z.string().min(1).max(128),
    item_content: z.string().max(LIMITS.inlineContentChars).nullish(),
    type: z.string().max(32),
  }),
});
/** Largest stored content document an estimate reads from the file store. */
const MAX_STORED_CONTENT_BYTES = 4 * 1024 * 1024;

/** What the price routes read: the pricing aggregate, the messages and files a cost depends on. */
export interface PriceDeps {
  stores: Pick<Stores, 'aggregates' | 'messages' | 'files' | 'fileStore'>;
  config: Parameters<typeof loadPricing>[1];
}

export async function priceRoutes(app: FastifyInstance, deps: PriceDeps): Promise<void> {
  /** Prices a content with the node's current pricing; bad content and unpriceable GPUs are 422. */
  const price = async (type: CostMessageType, content: unknown, itemHash: string, chargedAddress: string | undefined, includeSize: boolean): Promise<PriceResponse> => {
    try {
      const pricing = await loadPricing(deps.stores, deps.config);
      const cost = await costOfContent(deps.stores, pricing, type, content, itemHash);
      const address = chargedAddress ?? (content as { address: string }).address;
      return priceResponse(cost, address, includeSize);
    } catch (err) {
      // The network's own pricing lacking a price is not the client's fault; an unpriceable GPU or content is.
      if (isCostError(err) && err.code === 'PRICING_INCOMPLETE') throw CCN_ERRORS.error('PRICING_INCOMPLETE', err.message);
      if (isProtocolError(err) || isCostError(err)) throw CCN_ERRORS.error('INVALID_BODY', err.message);
      throw err;
    }
  };

  /** Validates an estimate's content with the message schemas (estimates aside), as pyaleph's CostEstimation*Content. */
  const checkEstimate = (type: CostMessageType, content: unknown): void => {
    try {
      parseContent(type, withoutEstimates(type, content));
    } catch (err) {
      if (isProtocolError(err)) throw CCN_ERRORS.error('INVALID_BODY', err.message, err.issues);
      throw err;
    }
  };

  /** A forgotten or removed STORE, priced from what its row keeps (pyaleph's billing metadata), else 410. */
  const priceGoneStore = async (row: MessageRow, includeSize: boolean): Promise<PriceResponse> => {
    if (row.type !== 'STORE' || row.owner_lc === null || row.size === null) throw CCN_ERRORS.error('MESSAGE_GONE', `This message has been ${row.status}: ${row.item_hash}`);
    // The row keeps the owner in lowercase; the sender's spelling is the owner's when they are one.
    const owner = row.sender_lc === row.owner_lc ? row.sender : row.owner_lc;
    const paymentType = row.payment_type === 'credit' || row.payment_type === 'superfluid' ? row.payment_type : 'hold';
    const content = { address: owner, item_hash: row.item_hash, payment: { type: paymentType }, estimated_size_mib: row.size / (1024 * 1024) };
    return price('STORE', content, row.item_hash, owner, includeSize);
  };

  app.get('/api/v0/price/:hash', async (request, reply: FastifyReply) => {
    const hash = (request.params as { hash: string }).hash;
    if (!isItemHash(hash)) throw CCN_ERRORS.error('INVALID_HASH');
    const includeSize = String((request.query as { include_size?: unknown }).include_size ?? 'false').toLowerCase() === 'true';
    const row = await deps.stores.messages.get(hash);
    if (!row) throw CCN_ERRORS.error('MESSAGE_NOT_FOUND', `Message not found with hash: ${hash}`);
    if (row.status === 'pending') {
      return reply.code(102).header('connection', 'close').send(`Message still pending: ${hash}`);
    }
    if (row.status === 'rejected') throw CCN_ERRORS.error('MESSAGE_NOT_FOUND', `This message was rejected: ${hash}`);
    if (row.status === 'forgotten' || row.status === 'removed') return priceGoneStore(row, includeSize);
    if (!(COST_MESSAGE_TYPES as readonly string[]).includes(row.type)) throw CCN_ERRORS.error('NOT_PRICED', `Message is not an executable or store message: ${hash}`);
    const content = JSON.parse(row.content ?? '{}') as { address?: string };
    return price(row.type as CostMessageType, content, hash, content.address ?? row.sender, includeSize);
  });

  app.post('/api/v0/price/estimate', async (request) => {
    const body = EstimateBody.safeParse(request.body);
    if (!body.success) throw CCN_ERRORS.error('INVALID_BODY', 'expected {"message": {item_hash, item_type, item_content, type}}', body.error.issues);
    const message = body.data.message;
    const type = message.type as CostMessageType;
    if (!COST_MESSAGE_TYPES.includes(type)) throw CCN_ERRORS.error('INVALID_BODY', `Invalid message_type: '${message.type.slice(0, 32)}' (PROGRAM, INSTANCE or STORE)`);
    const itemType = message.item_type ?? (message.item_content != null ? 'inline' : 'storage');
    let text: string;
    if (itemType === 'inline') {
      if (message.item_content == null) throw CCN_ERRORS.error('INVALID_BODY', 'Item content not specified for inline item type');
      text = message.item_content;
    } else {
      if (message.item_content != null) throw CCN_ERRORS.error('INVALID_BODY', `${itemType} messages cannot define item_content`);
      const size = deps.stores.fileStore.size(message.item_hash);
      const bytes = size !== undefined && size <= MAX_STORED_CONTENT_BYTES ? deps.stores.fileStore.read(message.item_hash) : undefined;
      if (!bytes) throw CCN_ERRORS.error('INVALID_BODY', `the content ${message.item_hash} is not held by this node`);
      text = bytes.toString('utf8');
    }
    let content: unknown;
    try {
      content = JSON.parse(text);
    } catch {
      throw CCN_ERRORS.error('INVALID_BODY', 'Message content is not valid JSON data');
    }
    checkEstimate(type, content);
    return price(type, content, message.item_hash, undefined, true);
  });

  app.post('/api/v0/price/estimate/instance', async (request) => {
    const body = request.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw CCN_ERRORS.error('INVALID_BODY', 'expected an INSTANCE content object');
    // time and allow_amend are not needed to price an instance (pyaleph makes them optional).
    const content = { time: 0, allow_amend: false, ...(body as Record<string, unknown>) };
    checkEstimate('INSTANCE', content);
    return price('INSTANCE', content, 'estimate', undefined, true);
  });
}
