/**
 * Reading the multipart body of an upload (`add_file`), the shape the SDKs send: a `file` part
 * and, for a signed upload, a `metadata` part (JSON: the STORE message and `sync`), in any order.
 *
 * Every part is read as a stream (busboy's `isPartAFile` says so for all of them), never
 * buffered by the parser: the `file` part goes to a temporary file with the route's size cap
 * (the JS SDK sends a Node Buffer as a plain text field: streamed the same way, byte for byte);
 * any other part is collected up to `maxMetadataBytes` and answered 413 the moment it passes it.
 * A body has at most the two parts the route takes (413 beyond); a repeated part is 400; parts
 * of other names are read (within the metadata cap) and ignored, as pyaleph ignores them.
 */
import type { Readable } from 'node:stream';
import { HttpError } from '@aleph-nodes/service';
import type { FastifyRequest } from 'fastify';
import { CCN_ERRORS } from '../errors.ts';
import { FileTooLargeError, type StagedFile } from '../storage/file-store.ts';
import type { CcnConfig } from '../config.ts';
import type { Stores } from '../stores.ts';

/** What reading an upload uses: the file store (staging) and the metadata cap. */
export interface UploadDeps {
  stores: Pick<Stores, 'fileStore'>;
  config: Pick<CcnConfig, 'maxMetadataBytes'>;
}

/** The parts an upload route takes: `file` and `metadata`. */
const MAX_PARTS = 2;
/** Header lines of one part (Content-Disposition, Content-Type, a few more). */
const MAX_PART_HEADERS = 16;

export interface Upload {
  file: StagedFile | undefined;
  metadata: string | undefined;
}

class PartTooLargeError extends Error {
  override readonly name = 'PartTooLargeError';
}

/** Collects a part up to `maxBytes`; throws as soon as it is longer. */
async function collectBounded(stream: Readable, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw new PartTooLargeError(`a multipart field is limited to ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

function statusOf(err: unknown): number | undefined {
  const status = typeof err === 'object' && err !== null ? (err as { statusCode?: unknown }).statusCode : undefined;
  return typeof status === 'number' ? status : undefined;
}

function codeOf(err: unknown): string | undefined {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Reads an upload, staging the `file` part on disk (hashed with sha256, and with `digest` when
 * given, in the same pass). Malformed or truncated bodies are 400, a file
 * over `maxFileBytes` or a field over the metadata cap 413; a staged file is discarded on any
 * failure. A refused body is not drained: the connection closes after the answer (server.ts).
 */
export async function readUpload(request: FastifyRequest, ctx: UploadDeps, maxFileBytes: number, digest?: { update(chunk: Uint8Array): unknown }): Promise<Upload> {
  const maxFieldBytes = ctx.config.maxMetadataBytes;
  const upload: Upload = { file: undefined, metadata: undefined };
  try {
    const parts = request.parts({
      isPartAFile: () => true,
      limits: { parts: MAX_PARTS, files: MAX_PARTS, fields: 0, fileSize: Math.max(maxFileBytes, maxFieldBytes), headerPairs: MAX_PART_HEADERS, fieldNameSize: 100 },
    });
    for await (const part of parts) {
      if (part.type !== 'file') throw CCN_ERRORS.error('MALFORMED_MULTIPART', 'unexpected field part');
      if (part.fieldname === 'file') {
        if (upload.file) throw CCN_ERRORS.error('UNEXPECTED_PART', 'the body has two file parts');
        upload.file = await ctx.stores.fileStore.stage(part.file, maxFileBytes, digest);
        if (part.file.truncated) throw new FileTooLargeError(`the file is larger than ${maxFileBytes} bytes`);
      } else if (part.fieldname === 'metadata') {
        if (upload.metadata !== undefined) throw CCN_ERRORS.error('UNEXPECTED_PART', 'the body has two metadata parts');
        upload.metadata = (await collectBounded(part.file, maxFieldBytes)).toString('utf8');
      } else {
        await collectBounded(part.file, maxFieldBytes);
      }
    }
  } catch (err) {
    if (upload.file) ctx.stores.fileStore.discard(upload.file);
    if (err instanceof HttpError) throw err;
    if (err instanceof PartTooLargeError) throw CCN_ERRORS.error('PART_TOO_LARGE', err.message);
    if (codeOf(err) === 'FST_PARTS_LIMIT' || codeOf(err) === 'FST_FILES_LIMIT' || codeOf(err) === 'FST_FIELDS_LIMIT') {
      throw CCN_ERRORS.error('TOO_MANY_PARTS', `an upload has at most ${MAX_PARTS} parts (file, metadata)`);
    }
    if (err instanceof FileTooLargeError || statusOf(err) === 413) throw CCN_ERRORS.error('FILE_TOO_LARGE', `files are limited to ${maxFileBytes} bytes here`);
    throw CCN_ERRORS.error('MALFORMED_MULTIPART', `the multipart body is malformed or incomplete: ${(err as Error).message}`);
  }
  return upload;
}
