/**
 * JSON request bodies (messages, pubsub, price estimates): measured before they are parsed
 * (json-shape.ts), so a body within the byte limit cannot still cost hundreds of MiB as objects.
 * A message body is a handful of values (its content travels as one string), so a body with more
 * than `maxJsonBodyValues` values or nested deeper than the protocol allows is 413 unparsed.
 * Parsing itself stays Fastify's (prototype-poisoning protection included).
 */
import { LIMITS } from '@aleph-nodes/protocol';
import type { FastifyInstance } from 'fastify';
import { CCN_ERRORS } from '../errors.ts';
import { jsonShape } from './json-shape.ts';

function invalidJson(): Error {
  const err = new Error('Request body is not valid JSON') as Error & { statusCode: number; code: string };
  err.statusCode = 400;
  err.code = 'FST_ERR_CTP_INVALID_JSON_BODY';
  return err;
}

export function installJsonParsers(app: FastifyInstance, maxValues: number): void {
  const parse = app.getDefaultJsonParser('error', 'remove');
  /** Checks the shape; answers the error to send, or undefined when the body may be parsed. */
  const refuse = (bytes: Buffer): Error | undefined => {
    if (bytes.length === 0) return undefined;
    const shape = jsonShape(bytes);
    if (shape.values > maxValues || shape.depth > LIMITS.contentJsonDepth) {
      return CCN_ERRORS.error('BODY_TOO_COMPLEX', `a JSON body may hold at most ${maxValues} values nested at most ${LIMITS.contentJsonDepth} deep`);
    }
    return shape.valid ? undefined : invalidJson();
  };
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const bytes = body as Buffer;
    const err = refuse(bytes);
    if (err) return done(err, undefined);
    parse(request, bytes.toString('utf8'), done);
  });
  // Clients may send JSON with other content types (text/plain from some tools): parse as JSON.
  app.addContentTypeParser('text/plain', { parseAs: 'buffer' }, (request, body, done) => {
    const bytes = body as Buffer;
    const err = refuse(bytes) ?? (bytes.length === 0 ? invalidJson() : undefined);
    if (err) return done(err, undefined);
    parse(request, bytes.toString('utf8'), done);
  });
}
