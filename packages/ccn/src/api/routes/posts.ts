/**
 * Posts (reference §7.7): original posts merged with their latest amend. v0 is what the SDK
 * reads; v1 is the compact form.
 */
import type { FastifyInstance } from 'fastify';
import type { MessageFilter, MessageRow } from '../../db/messages-repo.ts';
import type { ApiContext } from '../context.ts';
import { MAX_PAGE, intParam, listParam, numberParam, pageSizeParam, sortOrderParam, type RawQuery } from '../query.ts';

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

export function postsRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const query = async (
    raw: RawQuery,
    defaultPerPage: number,
  ): Promise<{ rows: { original: MessageRow; latest: MessageRow }[]; total: number; perPage: number; page: number }> => {
    const perPage = pageSizeParam(raw, defaultPerPage, ctx.config.maxPagination);
    const page = intParam(raw, 'page', 1, 1, MAX_PAGE);
    const { rows, total } = await ctx.stores.messages.listPosts(postFilterOf(raw), { perPage, page, sortOrder: sortOrderParam(raw) });
    return {
      rows: await Promise.all(
        rows.map(async (original) => ({
          original,
          latest: (original.post_last_amend ? await ctx.stores.messages.get(original.post_last_amend) : undefined) ?? original,
        })),
      ),
      total,
      perPage,
      page,
    };
  };

  app.get('/api/v0/posts.json', async (request) => {
    const { rows, total, perPage, page } = await query(request.query as RawQuery, 20);
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
      pagination_page: page,
      pagination_total: total,
      pagination_per_page: perPage,
      pagination_item: 'posts',
    };
  });

  app.get('/api/v1/posts.json', async (request) => {
    const { rows, total, perPage, page } = await query(request.query as RawQuery, 20);
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
      pagination_page: page,
      pagination_total: total,
      pagination_per_page: perPage,
      pagination_item: 'posts',
    };
  });
}
