/**
 * Program HTTP routing (crn-api.md §4): `* /vm/{ref}{suffix}` and host routing
 * `<base32(hash)>.<domain>`. Method, path, query, headers and body go to the workload's port
 * 8080 and the answer streams back. Request bodies stream too, except small ones with a
 * declared length (≤ 64 KiB, read whole and sent in one write); the request body is capped at
 * 1 MiB (413), while it streams when chunked. The program's own responses, 404s included,
 * pass untouched, except for what keeps programs away from the operator (program-headers.ts):
 * the node's cookie is not forwarded, and path-form pages are sandboxed.
 *
 * These routes live in their own plugin whose content-type parser leaves the body unread, so
 * that it can be streamed to the workload.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { Transform, type Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errors as undiciErrors, type Agent, type Dispatcher } from 'undici';
import { hostLabelToHash, isItemHash, type ProgramContent } from '@aleph-nodes/protocol';
import { HttpError } from '@aleph-nodes/service';
import { CRN_ERRORS } from '../../errors.ts';
import type { Supervisor } from '../../execution/supervisor.ts';
import type { CrnMetrics } from '../../metrics.ts';
import { withoutNodeCookie, withoutNodeSetCookie, withPathSandbox } from '../program-headers.ts';

export const PROGRAM_BODY_LIMIT = 1024 * 1024;

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

export interface VmProxyDeps {
  supervisor: Supervisor;
  domain: string;
  serverHeader: string;
  agent: Agent;
  metrics: CrnMetrics;
  isDraining: () => boolean;
  /** `programPathSandbox`: path-form responses get the CSP sandbox (program-headers.ts). */
  pathSandbox: boolean;
}

/** How the program was addressed: `/vm/{ref}/…` (the node's origin) or its own host. */
export type ProgramForm = 'path' | 'host';

/** The program hash a Host header stands for, when it is `<base32 label>.<anything>` and not the node itself. */
export function programRefOfHost(host: string | undefined, domain: string): string | undefined {
  if (!host) return undefined;
  const name = host.replace(/:\d+$/, '').toLowerCase();
  if (name === domain.toLowerCase()) return undefined;
  const label = name.split('.')[0] ?? '';
  return hostLabelToHash(label);
}

function sendError(raw: IncomingMessage, res: ServerResponse, serverHeader: string, err: HttpError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  // A request body left unread (413, or refused before forwarding) would desynchronize a
  // kept-alive connection: answer, then close it.
  if (!raw.complete) {
    res.shouldKeepAlive = false;
    raw.unpipe();
    raw.resume();
  }
  const body = JSON.stringify(err.body());
  res.writeHead(err.status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), server: serverHeader });
  res.end(body);
}

function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  return CRN_ERRORS.error('PROGRAM_NO_RESPONSE', `No response from VM: ${(err as Error).message}`);
}

class BodyTooLarge extends Error {}

/**
 * Request bodies up to this size with a declared Content-Length are read whole, then sent in
 * one write (measured: streaming a 64 B body through a Transform cost more than the rest of
 * the proxying). Larger ones stream.
 */
const SMALL_BODY = 64 * 1024;

/** Reads a body whose Content-Length is declared and small (`declared` ≤ SMALL_BODY). */
function readSmallBody(raw: IncomingMessage, declared: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    raw.on('data', (chunk: Buffer) => chunks.push(chunk));
    raw.once('end', () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, declared)));
    raw.once('error', reject);
    raw.once('aborted', () => reject(new Error('client aborted the request')));
  });
}

/** The request body for the workload: none, a small buffer, the raw stream, or a size-checked stream. */
async function requestBody(raw: IncomingMessage): Promise<{ body: Buffer | Readable | null; overLimit: () => boolean }> {
  const length = raw.headers['content-length'];
  if (length !== undefined) {
    const declared = Number(length);
    if (declared === 0) return { body: null, overLimit: () => false };
    // The HTTP parser delivers exactly the declared length, already checked against the limit.
    if (declared <= SMALL_BODY) return { body: await readSmallBody(raw, declared), overLimit: () => false };
    return { body: raw, overLimit: () => false };
  }
  if (raw.headers['transfer-encoding'] === undefined) return { body: null, overLimit: () => false };
  // Chunked: the limit is enforced while the body streams.
  let seen = 0;
  let over = false;
  const limiter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      seen += chunk.length;
      if (seen > PROGRAM_BODY_LIMIT) {
        over = true;
        return cb(new BodyTooLarge('request body over 1 MiB'));
      }
      cb(null, chunk);
    },
  });
  raw.pipe(limiter);
  limiter.on('error', () => {});
  return { body: limiter, overLimit: () => over };
}

/** Headers of `headers` without the hop-by-hop ones. */
function endToEnd(headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || HOP_BY_HOP.has(name)) continue;
    out[name] = value;
  }
  return out;
}

/** The request headers for the program: end-to-end ones, without the node's cookie on the path form. */
function requestHeaders(raw: IncomingMessage, form: ProgramForm): Record<string, string | string[]> {
  const out = endToEnd(raw.headers);
  if (form === 'path' && out.cookie !== undefined) {
    const cookie = withoutNodeCookie(out.cookie);
    if (cookie === undefined) delete out.cookie;
    else out.cookie = cookie;
  }
  return out;
}

/** Forwards one request to the program `ref`, path and query given. */
export async function forwardToProgram(deps: VmProxyDeps, raw: IncomingMessage, res: ServerResponse, ref: string, pathAndQuery: string, form: ProgramForm): Promise<void> {
  const started = performance.now();
  let outcome = 'ok';
  try {
    if (deps.isDraining()) throw CRN_ERRORS.error('DRAINING');
    const declared = Number(raw.headers['content-length'] ?? 0);
    if (declared > PROGRAM_BODY_LIMIT) throw CRN_ERRORS.error('PAYLOAD_TOO_LARGE');
    const exec = await deps.supervisor.forRequest(ref);
    const handle = exec.handle;
    if (!handle) throw CRN_ERRORS.error('PROGRAM_NO_RESPONSE');
    const content = exec.message.content as unknown as ProgramContent;
    deps.supervisor.requestStarted(exec);
    try {
      const { body, overLimit } = await requestBody(raw);
      const timeoutMs = Math.max(1, content.resources?.seconds ?? 30) * 1000;
      const host = handle.endpoint.host.includes(':') ? `[${handle.endpoint.host}]` : handle.endpoint.host;
      let answered = false;
      try {
        // stream(): the answer is written straight into `res` (no intermediate Readable); the
        // agent keeps connections to the workload alive between requests.
        await deps.agent.stream(
          {
            origin: `http://${host}:${handle.endpoint.port}`,
            path: pathAndQuery,
            method: raw.method as Dispatcher.HttpMethod,
            headers: requestHeaders(raw, form),
            body,
            headersTimeout: timeoutMs,
            bodyTimeout: timeoutMs,
          },
          ({ statusCode, headers }) => {
            answered = true;
            const out = endToEnd(headers);
            const setCookie = withoutNodeSetCookie(out['set-cookie'], form === 'path');
            if (setCookie === undefined) delete out['set-cookie'];
            else out['set-cookie'] = setCookie;
            if (form === 'path' && deps.pathSandbox) out['content-security-policy'] = withPathSandbox(out['content-security-policy']);
            out['aleph-program-itemhash'] = exec.ref;
            out['aleph-program-code-ref'] = content.code.ref;
            out.server = deps.serverHeader;
            res.writeHead(statusCode, out);
            return res;
          },
        );
      } catch (err) {
        if (answered) throw err;
        if (overLimit() || err instanceof BodyTooLarge) throw CRN_ERRORS.error('PAYLOAD_TOO_LARGE');
        if (err instanceof undiciErrors.HeadersTimeoutError) throw CRN_ERRORS.error('PROGRAM_TIMEOUT');
        throw err;
      }
    } finally {
      deps.supervisor.requestEnded(exec);
    }
  } catch (err) {
    const httpErr = toHttpError(err);
    outcome = httpErr.code;
    sendError(raw, res, deps.serverHeader, httpErr);
  } finally {
    deps.metrics.programRequests.inc({ outcome });
    deps.metrics.programRequestSeconds.observe((performance.now() - started) / 1000);
  }
}

function suffixOf(url: string, prefixLength: number): string {
  const rest = url.slice(prefixLength);
  if (rest === '' || rest.startsWith('?')) return `/${rest}`;
  return rest;
}

export async function vmProxyRoutes(app: FastifyInstance, deps: VmProxyDeps): Promise<void> {
  // Leave every body unread: the handler streams it to the workload.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req: FastifyRequest, _payload: IncomingMessage, done: (err: Error | null, body?: unknown) => void) => done(null));

  const byPath = async (request: FastifyRequest<{ Params: { ref: string } }>, reply: FastifyReply): Promise<void> => {
    const ref = request.params.ref;
    if (!isItemHash(ref)) throw CRN_ERRORS.error('INVALID_REF');
    reply.hijack();
    const url = request.raw.url ?? '/';
    const prefix = `/vm/${ref}`;
    await forwardToProgram(deps, request.raw, reply.raw, ref, url.startsWith(prefix) ? suffixOf(url, prefix.length) : '/', 'path');
  };
  app.all('/vm/:ref', byPath);
  app.all('/vm/:ref/*', byPath);

  // Host routing; for the node's own host name this is the 404 of unknown routes.
  app.all('/*', async (request, reply) => {
    const ref = programRefOfHost(request.headers.host, deps.domain);
    if (!ref) {
      throw new HttpError('NOT_FOUND', 404, `No route for ${request.method} ${(request.raw.url ?? '/').split('?')[0]}`);
    }
    reply.hijack();
    await forwardToProgram(deps, request.raw, reply.raw, ref, request.raw.url ?? '/', 'host');
  });
}
