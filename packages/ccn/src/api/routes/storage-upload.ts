/**
 * Uploads (aleph-protocol.md §7.5). `add_file` takes an optional signed STORE message in a `metadata`
 * part (before or after the `file` part; multipart.ts bounds every part). The file is streamed to
 * a temporary file while hashed, never held whole in memory; it becomes visible under its hash only once checked: with a STORE
 * message it must hash to the STORE's `item_hash`, and the message is then processed like
 * POST /api/v0/messages. Without one it is kept for the grace period unless a STORE pins it.
 * `add_json` stores the exact request bytes.
 */
import { isProtocolError, validateMessage } from '@aleph-nodes/protocol';
import type { FastifyInstance, onRequestHookHandler } from 'fastify';
import { z } from 'zod';
import { CCN_ERRORS } from '../../errors.ts';
import type { StagedFile } from '../../storage/file-store.ts';
import type { Stores } from '../../stores.ts';
import type { CcnConfig } from '../../config.ts';
import type { MessageProcessor } from '../../processing/processor.ts';
import { readUpload } from '../multipart.ts';
import { submitMessage, type SubmissionDeps } from '../submission.ts';
import { rawJsonRoute } from './raw-json-route.ts';

const Metadata = z.object({ message: z.record(z.string(), z.unknown()), sync: z.boolean().default(false) });

/** What the storage upload routes use: the file store, the submission's parts (a signed upload's STORE message), the upload gate. */
export interface StorageUploadDeps extends SubmissionDeps {
  stores: SubmissionDeps['stores'] & Pick<Stores, 'files' | 'fileStore'>;
  processor: SubmissionDeps['processor'] & Pick<MessageProcessor, 'dependencyAvailable'>;
  config: SubmissionDeps['config'] & Pick<CcnConfig, 'maxAnonymousUploadBytes' | 'maxSignedUploadBytes' | 'maxMetadataBytes' | 'maxFutureSeconds' | 'unpinnedFileTtlSeconds'>;
  clock(): number;
  /** The in-flight limit of uploads (in-flight.ts), shared with the IPFS upload routes. */
  gate: onRequestHookHandler;
}

export async function storageUploadRoutes(app: FastifyInstance, deps: StorageUploadDeps): Promise<void> {
  /** Makes a staged file visible under its sha256 and records it with a grace period. */
  const keep = async (staged: StagedFile): Promise<string> => {
    const now = deps.clock();
    deps.stores.fileStore.commit(staged, staged.sha256);
    await deps.stores.files.upsert(staged.sha256, 'storage', staged.size, now, now + deps.config.unpinnedFileTtlSeconds);
    await deps.processor.dependencyAvailable();
    return staged.sha256;
  };

  app.post('/api/v0/storage/add_file', { onRequest: deps.gate }, async (request, reply) => {
    if (!request.isMultipart()) throw CCN_ERRORS.error('INVALID_BODY', 'expected multipart/form-data with a file part');
    const upload = await readUpload(request, deps, Math.max(deps.config.maxSignedUploadBytes, deps.config.maxAnonymousUploadBytes));
    const file = upload.file;
    if (!file) throw CCN_ERRORS.error('MISSING_FILE');
    try {
      if (upload.metadata === undefined) {
        if (file.size > deps.config.maxAnonymousUploadBytes) {
          throw CCN_ERRORS.error('FILE_TOO_LARGE', `uploads without a STORE message are limited to ${deps.config.maxAnonymousUploadBytes} bytes`);
        }
        return { status: 'success', hash: await keep(file) };
      }
      let metadata: z.infer<typeof Metadata>;
      try {
        metadata = Metadata.parse(JSON.parse(upload.metadata));
      } catch {
        throw CCN_ERRORS.error('INVALID_BODY', 'metadata must be {"message": {...}, "sync": bool}');
      }
      let content: Record<string, unknown> | undefined;
      try {
        content = validateMessage(metadata.message, { now: deps.clock(), maxFutureSeconds: deps.config.maxFutureSeconds }).content as Record<string, unknown> | undefined;
      } catch (err) {
        if (isProtocolError(err) && err.code === 'INVALID_SIGNATURE') throw CCN_ERRORS.error('SIGNATURE_INVALID', err.message);
        if (isProtocolError(err)) throw CCN_ERRORS.error('INVALID_MESSAGE', err.message, { code: err.code, error_code: err.alephCode, issues: err.issues });
        throw err;
      }
      if (metadata.message.type !== 'STORE' || !content) throw CCN_ERRORS.error('INVALID_MESSAGE', 'metadata.message must be an inline STORE message');
      if (file.size > deps.config.maxSignedUploadBytes) {
        throw CCN_ERRORS.error('FILE_TOO_LARGE', `uploads with a STORE message are limited to ${deps.config.maxSignedUploadBytes} bytes`);
      }
      if (content.item_type !== 'storage' || file.sha256 !== content.item_hash) {
        throw CCN_ERRORS.error('FILE_HASH_MISMATCH', `the file hashes to ${file.sha256}, the STORE names ${String(content.item_hash)}`);
      }
      const hash = await keep(file);
      const { itemHash, status } = await submitMessage(deps, metadata.message, metadata.sync);
      if (status === 'rejected') {
        const row = await deps.stores.messages.get(itemHash);
        throw CCN_ERRORS.error('MESSAGE_REJECTED', row?.error_details ?? 'the STORE message was rejected', { error_code: row?.error_code ?? null });
      }
      return await reply.status(status === 'pending' ? 202 : 200).send({ status: 'success', hash });
    } finally {
      // Committed files were renamed away; anything left is a rejected upload.
      deps.stores.fileStore.discard(file);
    }
  });

  rawJsonRoute(app, '/api/v0/storage/add_json', deps.config.maxAnonymousUploadBytes, deps.gate, async (bytes) => {
    const staged = await deps.stores.fileStore.stageBytes(bytes);
    try {
      return { status: 'success', hash: await keep(staged) };
    } finally {
      // A committed file was renamed away; a failed one must not stay in the staging area.
      deps.stores.fileStore.discard(staged);
    }
  });
}
