/**
 * A POST route whose JSON body is kept as the exact bytes received: the `add_json` routes store
 * and hash those bytes, so the body is only checked to parse as JSON, never re-serialized.
 */
import type { FastifyInstance, onRequestHookHandler } from 'fastify';
import { CCN_ERRORS } from '../../errors.ts';
import { jsonShape } from '../json-shape.ts';

export function rawJsonRoute(
  app: FastifyInstance,
  path: string,
  bodyLimit: number,
  gate: onRequestHookHandler,
  handle: (bytes: Buffer) => Promise<unknown>,
): void {
  app.register(async (scope) => {
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit }, (_req, body, done) => {
      done(null, body);
    });
    scope.post(path, { bodyLimit, onRequest: gate }, async (request) => {
      const bytes = request.body;
      if (!Buffer.isBuffer(bytes) || bytes.length === 0) throw CCN_ERRORS.error('INVALID_BODY', 'expected a JSON body');
      // Checked without being parsed: the bytes are stored as they are, and parsing a hostile
      // document would cost many times its size in memory.
      if (!jsonShape(bytes).valid) throw CCN_ERRORS.error('INVALID_BODY', 'the body is not valid JSON');
      return handle(bytes);
    });
  });
}
