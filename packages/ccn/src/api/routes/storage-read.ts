/** Reading stored files (streamed, with Range) and their STORE bookkeeping (aleph-protocol.md §7.5 "Reads"). */
import { isItemHash } from '@aleph-nodes/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CCN_ERRORS } from '../../errors.ts';
import type { MessageRow } from '../../db/messages-repo.ts';
import type { Stores } from '../../stores.ts';
import type { ApiContext } from '../context.ts';

function hashParam(raw: string): string {
  // Only hash shapes reach the file store: no path traversal through this parameter.
  if (!isItemHash(raw)) throw CCN_ERRORS.error('INVALID_HASH', `${String(raw).slice(0, 80)} is not a file hash`);
  return raw;
}

function downloadUrl(request: FastifyRequest, fileHash: string): string {
  return `${request.protocol}://${request.host}/api/v0/storage/raw/${fileHash}`;
}

/** A single `bytes=` range (inclusive end), or undefined for the whole file; throws 416. */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  // Multiple ranges and other units are not supported: serve the whole file, as RFC 9110 allows.
  if (!m) return undefined;
  const [, a = '', b = ''] = m;
  let start: number;
  let end: number;
  if (a === '') {
    if (b === '') throw CCN_ERRORS.error('RANGE_NOT_SATISFIABLE');
    const suffix = Number(b);
    if (suffix === 0) throw CCN_ERRORS.error('RANGE_NOT_SATISFIABLE');
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(a);
    end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  }
  if (start >= size || start > end) throw CCN_ERRORS.error('RANGE_NOT_SATISFIABLE', `bytes */${size}`);
  return { start, end };
}

/** What the storage read routes read: files and their STORE messages, and the peers' copies when sync runs. */
export interface StorageReadDeps {
  stores: Pick<Stores, 'files' | 'fileStore' | 'messages'>;
  sync: ApiContext['sync'];
}

export async function storageReadRoutes(app: FastifyInstance, deps: StorageReadDeps): Promise<void> {
  const fileOf = async (hash: string, needBytes = true): Promise<{ size: number; engine: string }> => {
    // A known file whose bytes are not here (evicted on a `filesKept: referenced` node, or not
    // fetched yet) is fetched from peers first, checked against its hash.
    if (deps.sync && needBytes) await deps.sync.ensureFile(hash);
    const row = await deps.stores.files.get(hash);
    const size = row ? (deps.stores.fileStore.size(hash) ?? (needBytes ? undefined : row.size)) : undefined;
    if (!row || size === undefined) throw CCN_ERRORS.error('FILE_NOT_FOUND', `no file ${hash}`);
    return { size, engine: row.engine };
  };

  const storeInfo = (request: FastifyRequest, row: MessageRow | undefined): Record<string, unknown> => {
    if (!row || row.type !== 'STORE' || row.status !== 'processed' || !row.content_item_hash) {
      throw CCN_ERRORS.error('NOT_FOUND', 'no processed STORE message matches');
    }
    const content = JSON.parse(row.content ?? '{}') as { ref?: string; address?: string; size?: number };
    return {
      ref: content.ref ?? null,
      owner: content.address ?? null,
      file_hash: row.content_item_hash,
      download_url: downloadUrl(request, row.content_item_hash),
      size: content.size ?? row.size,
      item_hash: row.item_hash,
    };
  };

  const latestByRef = async (ref: string, owner: string | undefined): Promise<MessageRow | undefined> =>
    (
      await deps.stores.messages.list(
        { types: ['STORE'], statuses: ['processed'], refs: [ref], ...(owner ? { owners: [owner] } : {}) },
        { perPage: 1, page: 1, sortOrder: -1 },
      )
    )[0];

  // `?find` (added by the SDK's downloadFile) and other parameters are ignored.
  app.get('/api/v0/storage/raw/:hash', async (request, reply) => {
    const hash = hashParam((request.params as { hash: string }).hash);
    const { size } = await fileOf(hash);
    const range = parseRange(request.headers.range, size);
    void reply.header('accept-ranges', 'bytes').type('application/octet-stream');
    if (!range) return reply.header('content-length', size).send(deps.stores.fileStore.stream(hash));
    return reply
      .status(206)
      .header('content-range', `bytes ${range.start}-${range.end}/${size}`)
      .header('content-length', range.end - range.start + 1)
      .send(deps.stores.fileStore.stream(hash, range));
  });

  app.get('/api/v0/storage/:hash', async (request) => {
    const hash = hashParam((request.params as { hash: string }).hash);
    const { engine } = await fileOf(hash);
    const bytes = deps.stores.fileStore.read(hash);
    if (!bytes) throw CCN_ERRORS.error('FILE_NOT_FOUND', `no file ${hash}`);
    return { status: 'success', hash, engine, content: bytes.toString('base64') };
  });

  app.get('/api/v0/storage/metadata/:hash', async (request) => {
    const hash = hashParam((request.params as { hash: string }).hash);
    const { size } = await fileOf(hash, false);
    return { file_hash: hash, type: 'file', size, download_url: downloadUrl(request, hash) };
  });

  app.get('/api/v0/storage/count/:hash', async (request) => {
    const hash = hashParam((request.params as { hash: string }).hash);
    return deps.stores.files.pinCount(hash);
  });

  app.get('/api/v0/storage/by-message-hash/:hash', async (request) => {
    const hash = hashParam((request.params as { hash: string }).hash);
    return storeInfo(request, await deps.stores.messages.get(hash));
  });

  app.get('/api/v0/storage/by-ref/:ref', async (request) => {
    return storeInfo(request, await latestByRef((request.params as { ref: string }).ref, undefined));
  });

  app.get('/api/v0/storage/by-ref/:address/:ref', async (request) => {
    const { address, ref } = request.params as { address: string; ref: string };
    return storeInfo(request, await latestByRef(ref, address));
  });
}
