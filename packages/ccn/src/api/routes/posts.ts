/**
 * Posts (aleph-protocol.md §7.7): original posts merged with their latest amend. v0 is what the SDK
 * reads; v1 is the compact form.
 */
import type { FastifyInstance } from 'fastify';
import type { MessageFilter, MessageRow } from '../../db/messages-repo.ts';
import type { Stores } from '../../stores.ts';
import type { CcnConfig } from '../../config.ts';
import { CCN_ERRORS } from '../../errors.ts';
import { MAX_PAGE, cursorPageSizeParam, intParam, listParam, numberParam, pageFromPath, pageSizeParam, param, sortOrderParam, type RawQuery } from '../query.ts';

interface PostContentJson {
  type?: string;
  address?: string;
  content?: unknown;
  ref?: unknown;
}

function contentOf(row: MessageRow): PostContentJson {
  return row.content ? (JSON.parse(row.content) as PostContentJson) : {};
}

function isoTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString();
}

function postFilterOf(query: RawQuery): MessageFilter {
  const filter: MessageFilter = {};
  const set = <K extends keyof MessageFilter>(key: K, value: MessageFilter[K] | undefined): void => {
    if (value !== undefined && (!Array.isArray(value) || value.length > 0)) filter[key] = value;
  };
  set('contentTypes', listParam(query, 'types'));
  set('owners', listParam(query, 'addresses'));
  set('refs', listParam(query, 'refs'));
  set('hashes', listParam(query, 'hashes'));
  set('channels', listParam(query, 'channels'));
  set('chains', listParam(query, 'chains'));
  set('tags', listParam(query, 'tags'));
  set('startDate', numberParam(query, 'startDate'));
  set('endDate', numberParam(query, 'endDate'));
  return filter;
}

function encodeCursor(time: number, hash: string): string {
  return Buffer.from(JSON.stringify([time, hash])).toString('base64url');
}

function decodeCursor(cursor: string): { time: number; hash: string } {
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(v) && typeof v[0] === 'number' && Number.isFinite(v[0]) && typeof v[1] === 'string') return { time: v[0], hash: v[1] };
  } catch {
    // fall through
  }
  throw CCN_ERRORS.error('INVALID_PARAMETER', 'cursor is not valid');
}

interface PostsPage {
  rows: { original: MessageRow; latest: MessageRow }[];
  perPage: number;
  /** Page mode. */
  page?: { number: number; total: number };
  /** Cursor mode (pyaleph: `pagination_per_page` and `next_cursor` only). */
  nextCursor?: string | null;
}

/** What the post routes read: the posts and their amends. */
export interface PostsDeps {
  stores: Pick<Stores, 'messages'>;
  config: Pick<CcnConfig, 'maxPagination'>;
}

export async function postsRoutes(app: FastifyInstance, deps: PostsDeps): Promise<void> {
  const query = async (raw: RawQuery, defaultPerPage: number): Promise<PostsPage> => {
    // pyaleph: time or tx-time; without chain confirmations tx-time is the message time here.
    const sortBy = param(raw, 'sortBy') ?? 'time';
    if (sortBy !== 'time' && sortBy !== 'tx-time') throw CCN_ERRORS.error('INVALID_PARAMETER', 'sortBy must be time or tx-time');
    const sortOrder = sortOrderParam(raw);
    const withLatest = (rows: MessageRow[]) =>
      Promise.all(
        rows.map(async (original) => ({
          original,
          latest: (original.post_last_amend ? await deps.stores.messages.get(original.post_last_amend) : undefined) ?? original,
        })),
      );
    const cursor = param(raw, 'cursor');
    if (cursor !== undefined) {
      if (sortBy === 'tx-time') throw CCN_ERRORS.error('INVALID_PARAMETER', 'cursor paging cannot sort by tx-time');
      const perPage = cursorPageSizeParam(raw, defaultPerPage, deps.config.maxPagination);
      const after = cursor === '' ? null : decodeCursor(cursor);
      const { rows } = await deps.stores.messages.listPosts(postFilterOf(raw), { perPage: perPage + 1, page: 1, sortOrder, after });
      const kept = rows.slice(0, perPage);
      const last = kept[kept.length - 1];
      return {
        rows: await withLatest(kept),
        perPage,
        nextCursor: rows.length > perPage && last ? encodeCursor(last.post_last_updated ?? last.time, last.item_hash) : null,
      };
    }
    const perPage = pageSizeParam(raw, defaultPerPage, deps.config.maxPagination);
    const page = intParam(raw, 'page', 1, 1, MAX_PAGE);
    const { rows, total } = await deps.stores.messages.listPosts(postFilterOf(raw), { perPage, page, sortOrder });
    return { rows: await withLatest(rows), perPage, page: { number: page, total } };
  };
  const paging = (p: PostsPage): Record<string, unknown> =>
    p.page
      ? { pagination_page: p.page.number, pagination_total: p.page.total, pagination_per_page: p.perPage, pagination_item: 'posts' }
      : { pagination_per_page: p.perPage, next_cursor: p.nextCursor ?? null };

  const v0 = async (raw: RawQuery, pageFromPathValue?: number): Promise<Record<string, unknown>> => {
    const result = await query(pageFromPathValue === undefined ? raw : { ...raw, page: String(pageFromPathValue) }, 20);
    const { rows } = result;
    return {
      posts: rows.map(({ original, latest }) => {
        const originalContent = contentOf(original);
        const latestContent = contentOf(latest);
        return {
          chain: original.chain,
          item_hash: latest.item_hash,
          sender: original.sender,
          type: latestContent.type ?? null,
          channel: original.channel,
          confirmed: false,
          content: latestContent.content ?? null,
          item_content: latest.item_type === 'inline' ? latest.item_content : null,
          item_type: latest.item_type,
          signature: latest.signature,
          size: latest.size ?? 0,
          time: latest.time,
          confirmations: [],
          original_item_hash: original.item_hash,
          original_signature: original.signature,
          original_type: originalContent.type ?? null,
          hash: original.item_hash,
          address: originalContent.address ?? original.sender,
          ref: originalContent.ref ?? null,
        };
      }),
      ...paging(result),
    };
  };

  const v1 = async (raw: RawQuery, pageFromPathValue?: number): Promise<Record<string, unknown>> => {
    const result = await query(pageFromPathValue === undefined ? raw : { ...raw, page: String(pageFromPathValue) }, 20);
    const { rows } = result;
    return {
      posts: rows.map(({ original, latest }) => {
        const originalContent = contentOf(original);
        return {
          item_hash: latest.item_hash,
          content: contentOf(latest).content ?? null,
          original_item_hash: original.item_hash,
          original_type: originalContent.type ?? null,
          address: originalContent.address ?? original.sender,
          ref: originalContent.ref ?? null,
          channel: original.channel,
          created: isoTime(original.time),
          last_updated: isoTime(latest.time),
        };
      }),
      ...paging(result),
    };
  };
  const pageOf = (raw: string): number => pageFromPath(raw.replace(/\.json$/, ''));
  app.get('/api/v0/posts.json', async (request) => v0(request.query as RawQuery));
  app.get('/api/v0/posts/page/:page', async (request) => v0(request.query as RawQuery, pageOf((request.params as { page: string }).page)));
  app.get('/api/v1/posts.json', async (request) => v1(request.query as RawQuery));
  app.get('/api/v1/posts/page/:page', async (request) => v1(request.query as RawQuery, pageOf((request.params as { page: string }).page)));
}
