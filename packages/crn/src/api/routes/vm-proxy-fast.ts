/**
 * The path form of program requests (`/vm/{hash}…`) taken before Fastify's routing: profiled
 * under load, Fastify's per-request lifecycle around the handler (routing, request and reply
 * objects, a child logger, hooks, the content-type parser the proxy does not use) was a share of
 * the CRN's CPU per request that this path does not need. The same forwardToProgram does the work, with the same checks: the ref must
 * be an item hash as the route's handler requires (anything else, percent-encoded refs
 * included, goes through Fastify as before and gets its answer there), the body bounds and
 * header hygiene are forwardToProgram's. The HTTP metrics keep counting these requests under
 * their route pattern.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isItemHash } from '@aleph-nodes/protocol';
import { forwardToProgram, type VmProxyDeps } from './vm-proxy.ts';

/** Methods Fastify routes with `all`; any other takes Fastify's path (its 404 or 405). */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']);

const PREFIX = '/vm/';

/** The ref and the rest of the URL after it, when `url` is `/vm/{item hash}` plus `/…`, `?…` or nothing. */
export function pathFormRef(url: string): { ref: string; suffix: string } | undefined {
  if (!url.startsWith(PREFIX)) return undefined;
  let end = PREFIX.length;
  while (end < url.length && url[end] !== '/' && url[end] !== '?') end++;
  const ref = url.slice(PREFIX.length, end);
  if (!isItemHash(ref)) return undefined;
  const rest = url.slice(end);
  return { ref, suffix: rest === '' || rest.startsWith('?') ? `/${rest}` : rest };
}

export interface FastPathDeps extends VmProxyDeps {
  /** Records the request in the HTTP metrics as Fastify's hook would (route pattern, status, seconds). */
  observeHttp(method: string, route: string, status: number, seconds: number): void;
}

/** Handles `raw` when it is a path-form program request; false leaves it to Fastify. */
export function vmProxyFastPath(deps: FastPathDeps): (raw: IncomingMessage, res: ServerResponse) => boolean {
  return (raw, res) => {
    const method = raw.method ?? '';
    if (!METHODS.has(method)) return false;
    const target = pathFormRef(raw.url ?? '');
    if (!target) return false;
    const started = performance.now();
    // The route patterns Fastify would have matched, so that the metrics' labels stay the same.
    const route = (raw.url ?? '').length === PREFIX.length + target.ref.length || raw.url?.[PREFIX.length + target.ref.length] === '?' ? '/vm/:ref' : '/vm/:ref/*';
    res.once('finish', () => deps.observeHttp(method, route, res.statusCode, (performance.now() - started) / 1000));
    // forwardToProgram answers its own errors; what escapes it leaves nothing to answer with.
    forwardToProgram(deps, raw, res, target.ref, target.suffix, 'path').catch(() => res.destroy());
    return true;
  };
}
