/**
 * Reading messages: the list (aleph-protocol.md §7.2, page and cursor modes), one message by hash with its status
 * (aleph-protocol.md §7.3), its status alone, a POST's inner content, and the hash list.
 */
import { isItemHash } from '@aleph-nodes/protocol';
import type { FastifyInstance } from 'fastify';
import { CCN_ERRORS } from '../../errors.ts';
import type { MessageRow } from '../../db/messages-repo.ts';
import { toApiMessage } from '../../db/message-views.ts';
import type { MessageRemovalsTable } from '../../db/schema.ts';
import type { Stores } from '../../stores.ts';
import type { CcnConfig } from '../../config.ts';
import { boolParam, cursorPageSizeParam, intParam, MAX_PAGE, pageFromPath, listParam, messageFilterOf, pageSizeParam, param, sortOrderParam, type RawQuery } from '../query.ts';

function isoTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString();
}

function encodeCursor(row: MessageRow): string {
  return Buffer.from(JSON.stringify([row.time, row.item_hash])).toString('base64url');
}

function decodeCursor(cursor: string): { time: number; hash: string } {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(value) && typeof value[0] === 'number' && typeof value[1] === 'string') return { time: value[0], hash: value[1] };
  } catch {
    // fall through
  }
  throw CCN_ERRORS.error('INVALID_PARAMETER', 'cursor is not valid');
}

export type ContentFormat = 'full' | 'headers' | 'none';

/** `contentFormat` (full, headers, none); without it the deprecated `excludeContent` (pyaleph). */
export function contentFormatOf(query: RawQuery): ContentFormat {
  const format = param(query, 'contentFormat');
  if (format !== undefined && !['full', 'headers', 'none'].includes(format)) {
    throw CCN_ERRORS.error('INVALID_PARAMETER', 'contentFormat must be full, headers or none');
  }
  if (format === 'full' || format === 'headers' || format === 'none') return format;
  return boolParam(query, 'excludeContent', false) ? 'none' : 'full';
}

/** Per type, the content fields `headers` keeps beside `address` (pyaleph `_HEADERS_FIELDS`). */
const HEADER_FIELDS: Record<string, readonly string[]> = {
  POST: ['type', 'ref'],
  AGGREGATE: ['key'],
  STORE: ['item_hash', 'ref'],
};

/** A message of the list in the requested content format. */
export function formatMessage(row: MessageRow, format: ContentFormat): Record<string, unknown> {
  if (format === 'full') return { ...toApiMessage(row, true) };
  const msg: Record<string, unknown> = { ...toApiMessage(row, false) };
  if (format === 'headers') {
    const content = row.content === null ? {} : (JSON.parse(row.content) as Record<string, unknown>);
    const headers: Record<string, unknown> = { address: content.address ?? null };
    for (const field of HEADER_FIELDS[row.type] ?? []) if (content[field] !== undefined && content[field] !== null) headers[field] = content[field];
    msg.content = headers;
  }
  return msg;
}

/** The body of GET /api/v0/messages/{hash} for each status (aleph-protocol.md §7.3). */
/**
 * A rejection's details: pyaleph's `{errors: [...]}`; payment refusals store that object as JSON
 * (payments/admission.ts), other reasons are a sentence.
 */
function rejectionDetails(details: string | null): unknown {
  if (details === null) return null;
  if (details.startsWith('{"errors":[')) {
    try {
      return JSON.parse(details) as unknown;
    } catch {
      // a sentence that happens to start that way
    }
  }
  return { errors: [details] };
}

/**
 * `removal`: why a `removing`/`removed` message lost its payment and its deadline (payments/job.ts);
 * `removing_at` (ours) is the unix time after which it is `removed` unless topped up.
 */
export function messageStatusBody(row: MessageRow, removal?: MessageRemovalsTable): Record<string, unknown> {
  const base = { status: row.status, item_hash: row.item_hash, reception_time: isoTime(row.reception_time) };
  switch (row.status) {
    case 'pending':
      return { ...base, messages: [JSON.parse(row.raw) as unknown] };
    case 'rejected':
      return { ...base, message: JSON.parse(row.raw) as unknown, error_code: row.error_code, details: rejectionDetails(row.error_details) };
    case 'forgotten':
      return {
        ...base,
        message: {
          sender: row.sender,
          chain: row.chain,
          signature: row.signature,
          type: row.type,
          item_type: row.item_type,
          item_hash: row.item_hash,
          time: row.time,
          channel: row.channel,
        },
        forgotten_by: row.forgotten_by ? (JSON.parse(row.forgotten_by) as string[]) : [],
      };
    case 'removing':
    case 'removed':
      return {
        ...base,
        message: toApiMessage(row),
        // The payment job's recorded reason; without one, pyaleph's `_removal_reason` (credit-paid
        // messages are removed for want of credits).
        reason: removal?.reason ?? (row.payment_type === 'credit' ? 'credit_insufficient' : 'balance_insufficient'),
        ...(removal ? { removing_at: removal.removing_at, ...(removal.removed_at !== null ? { removed_at: removal.removed_at } : {}) } : {}),
      };
    default:
      return { ...base, message: toApiMessage(row) };
  }
}

function hashParam(raw: string): string {
  if (!isItemHash(raw)) throw CCN_ERRORS.error('INVALID_HASH', `${String(raw).slice(0, 80)} is not an item hash`);
  return raw;
}

/** What the message read routes read: messages and removals. */
export interface MessagesReadDeps {
  stores: Pick<Stores, 'messages' | 'payments'>;
  config: Pick<CcnConfig, 'maxPagination'>;
}

export async function messagesReadRoutes(app: FastifyInstance, deps: MessagesReadDeps): Promise<void> {
  const list = async (query: RawQuery, pageFromPath: number | undefined): Promise<Record<string, unknown>> => {
    const filter = messageFilterOf(query, ['processed', 'removing']);
    const sortOrder = sortOrderParam(query);
    const sortBy = param(query, 'sortBy') ?? 'time';
    // Without chain confirmations, tx-time (first confirmation) falls back to the message time.
    if (sortBy !== 'time' && sortBy !== 'tx-time') throw CCN_ERRORS.error('INVALID_PARAMETER', 'sortBy must be time or tx-time');
    const format = contentFormatOf(query);
    const cursor = param(query, 'cursor');
    if (cursor !== undefined) {
      if (sortBy === 'tx-time') throw CCN_ERRORS.error('INVALID_PARAMETER', 'cursor paging cannot sort by tx-time');
      const perPage = cursorPageSizeParam(query, 20, deps.config.maxPagination);
      const rows = await deps.stores.messages.listAfter(filter, perPage + 1, sortOrder, cursor === '' ? undefined : decodeCursor(cursor));
      const hasMore = rows.length > perPage;
      const page = rows.slice(0, perPage);
      const last = page[page.length - 1];
      return {
        messages: page.map((r) => formatMessage(r, format)),
        pagination_per_page: perPage,
        has_more: hasMore,
        next_cursor: hasMore && last ? encodeCursor(last) : null,
      };
    }
    const perPage = pageSizeParam(query, 20, deps.config.maxPagination);
    const page = pageFromPath ?? intParam(query, 'page', 1, 1, MAX_PAGE);
    const rows = await deps.stores.messages.list(filter, { perPage, page, sortOrder });
    return {
      messages: rows.map((r) => formatMessage(r, format)),
      pagination_per_page: perPage,
      pagination_page: page,
      pagination_total: await deps.stores.messages.count(filter),
      pagination_item: 'messages',
    };
  };

  app.get('/api/v0/messages.json', async (request) => list(request.query as RawQuery, undefined));
  app.get('/api/v0/messages/page/:page', async (request) => {
    const raw = (request.params as { page: string }).page.replace(/\.json$/, '');
    return list(request.query as RawQuery, pageFromPath(raw));
  });

  app.get('/api/v0/messages/hashes', async (request) => {
    const query = request.query as RawQuery;
    const statuses = listParam(query, 'status', 'msgStatuses');
    const filter = messageFilterOf({ ...query, msgStatuses: statuses?.join(',') }, ['processed', 'removing']);
    const perPage = pageSizeParam(query, 20, deps.config.maxPagination);
    const page = intParam(query, 'page', 1, 1, MAX_PAGE);
    const rows = await deps.stores.messages.list(filter, { perPage, page, sortOrder: sortOrderParam(query) });
    const hashOnly = boolParam(query, 'hashOnly', true);
    return {
      hashes: rows.map((r) => (hashOnly ? r.item_hash : { item_hash: r.item_hash, status: r.status })),
      pagination_per_page: perPage,
      pagination_page: page,
      pagination_total: await deps.stores.messages.count(filter),
      pagination_item: 'hashes',
    };
  });

  app.get('/api/v0/messages/:hash', async (request) => {
    const hash = hashParam((request.params as { hash: string }).hash);
    const row = await deps.stores.messages.get(hash);
    if (!row) throw CCN_ERRORS.error('MESSAGE_NOT_FOUND', `no message ${hash}`);
    const removal = row.status === 'removing' || row.status === 'removed' ? await deps.stores.payments.removal(hash) : undefined;
    return messageStatusBody(row, removal);
  });

  app.get('/api/v0/messages/:hash/status', async (request) => {
    const hash = hashParam((request.params as { hash: string }).hash);
    const row = await deps.stores.messages.get(hash);
    if (!row) throw CCN_ERRORS.error('MESSAGE_NOT_FOUND', `no message ${hash}`);
    return { status: row.status, item_hash: row.item_hash, reception_time: isoTime(row.reception_time) };
  });

  app.get('/api/v0/messages/:hash/content', async (request, reply) => {
    const hash = hashParam((request.params as { hash: string }).hash);
    const row = await deps.stores.messages.get(hash);
    if (!row) throw CCN_ERRORS.error('MESSAGE_NOT_FOUND', `no message ${hash}`);
    if (row.status !== 'processed' || row.content === null) throw CCN_ERRORS.error('MESSAGE_NOT_PROCESSED', `message ${hash} is not processed (status: ${row.status})`);
    // pyaleph: the content of any type; a POST's user payload is its content.content.
    const content = JSON.parse(row.content) as { content?: unknown };
    return reply.type('application/json').send(JSON.stringify(row.type === 'POST' ? (content.content ?? null) : content));
  });
}
