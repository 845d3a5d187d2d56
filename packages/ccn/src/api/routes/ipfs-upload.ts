/**
 * The IPFS upload routes (aleph-protocol.md §7.5). This node runs no IPFS daemon: it computes the CIDv0
 * that `ipfs add` would give, stores the bytes under it and serves them like any file, so the
 * SDK's default `ipfs` engine (createProgram, createStore) works unchanged. Uploads here carry
 * no STORE message, so the anonymous size limit applies.
 */
import type { FastifyInstance, onRequestHookHandler } from 'fastify';
import { CCN_ERRORS } from '../../errors.ts';
import { CidV0Hasher, cidV0 } from '../../ipfs/cid-v0.ts';
import type { StagedFile } from '../../storage/file-store.ts';
import type { Stores } from '../../stores.ts';
import type { CcnConfig } from '../../config.ts';
import type { MessageProcessor } from '../../processing/processor.ts';
import { readUpload } from '../multipart.ts';
import { rawJsonRoute } from './raw-json-route.ts';

/** What the IPFS upload routes use: the file store and its table, the processor (waiting messages), the upload gate. */
export interface IpfsUploadDeps {
  stores: Pick<Stores, 'files' | 'fileStore'>;
  processor: Pick<MessageProcessor, 'dependencyAvailable'>;
  config: Pick<CcnConfig, 'maxAnonymousUploadBytes' | 'maxMetadataBytes' | 'unpinnedFileTtlSeconds'>;
  clock(): number;
  /** The in-flight limit of uploads (in-flight.ts), shared with the storage upload routes. */
  gate: onRequestHookHandler;
}

export async function ipfsUploadRoutes(app: FastifyInstance, deps: IpfsUploadDeps): Promise<void> {
  /** Makes a staged file visible under its CID (computed while it was staged) and records it. */
  const keep = async (staged: StagedFile, cid: string): Promise<string> => {
    const now = deps.clock();
    deps.stores.fileStore.commit(staged, cid);
    await deps.stores.files.upsert(cid, 'ipfs', staged.size, now, now + deps.config.unpinnedFileTtlSeconds);
    await deps.processor.dependencyAvailable();
    return cid;
  };

  app.post('/api/v0/ipfs/add_file', { onRequest: deps.gate }, async (request) => {
    if (!request.isMultipart()) throw CCN_ERRORS.error('INVALID_BODY', 'expected multipart/form-data with a file part');
    const cid = new CidV0Hasher();
    const upload = await readUpload(request, deps, deps.config.maxAnonymousUploadBytes, cid);
    if (!upload.file) throw CCN_ERRORS.error('MISSING_FILE');
    try {
      return { status: 'success', hash: await keep(upload.file, cid.digest()), name: 'blob', size: upload.file.size };
    } finally {
      deps.stores.fileStore.discard(upload.file);
    }
  });

  rawJsonRoute(app, '/api/v0/ipfs/add_json', deps.config.maxAnonymousUploadBytes, deps.gate, async (bytes) => {
    const staged = await deps.stores.fileStore.stageBytes(bytes);
    try {
      return { status: 'success', hash: await keep(staged, cidV0(bytes)) };
    } finally {
      deps.stores.fileStore.discard(staged);
    }
  });
}
