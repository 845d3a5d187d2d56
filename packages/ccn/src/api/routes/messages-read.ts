/**
 * Reading messages: the list (§7.2, page and cursor modes), one message by hash with its status
 * (§7.3), its status alone, a POST's inner content, and the hash list.
 */
import { isItemHash } from '@aleph-nodes/protocol';
import type { FastifyInstance } from 'fastify';
import { CCN_ERRORS } from '../../errors.ts';
import { toApiMessage, type MessageRow } from '../../db/messages-repo.ts';
import type { MessageRemovalsTable } from '../../db/schema.ts';
import type { ApiContext } from '../context.ts';
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

function withContentOf(query: RawQuery): boolean {
  const format = param(query, 'contentFormat');
  if (format !== undefined && !['full', 'headers', 'none'].includes(format)) {
    throw CCN_ERRORS.error('INVALID_PARAMETER', 'contentFormat must be full, headers or none');
  }
  if (format === 'headers' || format === 'none') return false;
  return !boolParam(query, 'excludeContent', false);
}

/** The body of GET /api/v0/messages/{hash} for each status (reference §7.3). */
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
        reason: removal?.reason ?? 'balance_insufficient',
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

export function messagesReadRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const list = async (query: RawQuery, pageFromPath: number | undefined): Promise<Record<string, unknown>> => {
    const filter = messageFilterOf(query, ['processed', 'removing']);
    const sortOrder = sortOrderParam(query);
    const sortBy = param(query, 'sortBy') ?? 'time';
    // Without chain confirmations, tx-time (first confirmation) falls back to the message time.
    if (sortBy !== 'time' && sortBy !== 'tx-time') throw CCN_ERRORS.error('INVALID_PARAMETER', 'sortBy must be time or tx-time');
    const withContent = withContentOf(query);
    const cursor = param(query, 'cursor');
    if (cursor !== undefined) {
      if (sortBy === 'tx-time') throw CCN_ERRORS.error('INVALID_PARAMETER', 'cursor paging cannot sort by tx-time');
      const perPage = cursorPageSizeParam(query, 20, ctx.config.maxPagination);
      const rows = await ctx.stores.messages.listAfter(filter, perPage + 1, sortOrder, cursor === '' ? undefined : decodeCursor(cursor));
      const hasMore = rows.length > perPage;
      const page = rows.slice(0, perPage);
      const last = page[page.length - 1];
      return {
        messages: page.map((r) => toApiMessage(r, withContent)),
        pagination_per_page: perPage,
        has_more: hasMore,
        next_cursor: hasMore && last ? encodeCursor(last) : null,
      };
    }
    const perPage = pageSizeParam(query, 20, ctx.config.maxPagination);
    const page = pageFromPath ?? intParam(query, 'page', 1, 1, MAX_PAGE);
    const rows = await ctx.stores.messages.list(filter, { perPage, page, sortOrder });
    return {
      messages: rows.map((r) => toApiMessage(r, withContent)),
      pagination_per_page: perPage,
      pagination_page: page,
      pagination_total: await ctx.stores.messages.count(filter),
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
    const perPage = pageSizeParam(query, 20, ctx.config.maxPagination);
    const page = intParam(query, 'page', 1, 1, MAX_PAGE);
    const rows = await ctx.stores.messages.list(filter, { perPage, page, sortOrder: sortOrderParam(query) });
    const hashOnly = boolParam(query, 'hashOnly', true);
    return {
      hashes: rows.map((r) => (hashOnly ? r.item_hash : { item_hash: r.item_hash, status: r.status })),
      pagination_per_page: perPage,
      pagination_page: page,
      pagination_total: await ctx.stores.messages.count(filter),
      pagination_item: 'hashes',
    };
  });

  app.get('/api/v0/messages/:hash', async (request) => {
    const hash = hashParam((request.params as { hash: string }).hash);
    const row = await ctx.stores.messages.get(hash);
    if (!row) throw CCN_ERRORS.error('MESSAGE_NOT_FOUND', `no message ${hash}`);
    const removal = row.status === 'removing' || row.status === 'removed' ? await ctx.stores.payments.removal(hash) : undefined;
    return messageStatusBody(row, removal);
  });

  app.get('/api/v0/messages/:hash/status', async (request) => {
    const hash = hashParam((request.params as { hash: string }).hash);
    const row = await ctx.stores.messages.get(hash);
    if (!row) throw CCN_ERRORS.error('MESSAGE_NOT_FOUND', `no message ${hash}`);
    return { status: row.status, item_hash: row.item_hash, reception_time: isoTime(row.reception_time) };
  });

  app.get('/api/v0/messages/:hash/content', async (request) => {
    const hash = hashParam((request.params as { hash: string }).hash);
    const row = await ctx.stores.messages.get(hash);
    if (!row) throw CCN_ERRORS.error('MESSAGE_NOT_FOUND', `no message ${hash}`);
    if (row.type !== 'POST' || row.status !== 'processed' || row.content === null) throw CCN_ERRORS.error('NOT_A_POST');
    const content = JSON.parse(row.content) as { content?: unknown };
    return content.content ?? null;
  });
}
