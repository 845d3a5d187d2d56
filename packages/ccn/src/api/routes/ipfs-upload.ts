/**
 * The IPFS upload routes (reference §7.5). This node runs no IPFS daemon: it computes the CIDv0
 * that `ipfs add` would give, stores the bytes under it and serves them like any file, so the
 * SDK's default `ipfs` engine (createProgram, createStore) works unchanged. Uploads here carry
 * no STORE message, so the anonymous size limit applies.
 */
import type { FastifyInstance, onRequestHookHandler } from 'fastify';
import { CCN_ERRORS } from '../../errors.ts';
import { cidV0 } from '../../ipfs/cid-v0.ts';
import type { StagedFile } from '../../storage/file-store.ts';
import type { ApiContext } from '../context.ts';
import { readUpload } from '../multipart.ts';
import { rawJsonRoute } from './raw-json-route.ts';

export function ipfsUploadRoutes(app: FastifyInstance, ctx: ApiContext, gate: onRequestHookHandler): void {
  const keep = async (staged: StagedFile): Promise<string> => {
    // Bounded by the anonymous upload limit, so reading the staged file back is acceptable.
    const cid = cidV0(ctx.stores.fileStore.readStaged(staged));
    const now = ctx.clock();
    ctx.stores.fileStore.commit(staged, cid);
    await ctx.stores.files.upsert(cid, 'ipfs', staged.size, now, now + ctx.config.unpinnedFileTtlSeconds);
    await ctx.processor.dependencyAvailable();
    return cid;
  };

  app.post('/api/v0/ipfs/add_file', { onRequest: gate }, async (request) => {
    if (!request.isMultipart()) throw CCN_ERRORS.error('INVALID_BODY', 'expected multipart/form-data with a file part');
    const upload = await readUpload(request, ctx, ctx.config.maxAnonymousUploadBytes);
    if (!upload.file) throw CCN_ERRORS.error('MISSING_FILE');
    try {
      return { status: 'success', hash: await keep(upload.file), name: 'blob', size: upload.file.size };
    } finally {
      ctx.stores.fileStore.discard(upload.file);
    }
  });

  rawJsonRoute(app, '/api/v0/ipfs/add_json', ctx.config.maxAnonymousUploadBytes, gate, async (bytes) => {
    const staged = await ctx.stores.fileStore.stageBytes(bytes);
    try {
      return { status: 'success', hash: await keep(staged) };
    } finally {
      ctx.stores.fileStore.discard(staged);
    }
  });
}
