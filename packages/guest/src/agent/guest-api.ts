/**
 * The guest API of aleph's runtimes, where programs look for it: HTTP on the Unix socket
 * `/tmp/socat-socket` (ALEPH_API_UNIX_SOCKET), which the SDK's `VmCache` checks for at startup and
 * talks to. Served here, inside the VM, by the agent:
 *
 * - the key-value cache (`GET /cache/?pattern=`, `GET|PUT|DELETE /cache/{key}`) with aleph's
 *   key and pattern rules and answers (`true` for a PUT, the number deleted, 404 for a missing
 *   key). Unlike aleph's (Redis on the host, kept 7 days) it lives as long as the VM: a restarted
 *   program finds it empty. Bounded in keys and bytes: the program is the only client, but a
 *   runaway one must not take the agent's memory;
 * - every other route answers 501: aleph's proxies reads to a CCN and signs with the node's key,
 *   which this node does not offer to programs.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { rm } from 'node:fs/promises';

export const GUEST_API_SOCKET = '/tmp/socat-socket';

export interface CacheLimits {
  maxKeys: number;
  maxValueBytes: number;
  maxTotalBytes: number;
}

export const DEFAULT_CACHE_LIMITS: CacheLimits = { maxKeys: 10_000, maxValueBytes: 1024 * 1024, maxTotalBytes: 32 * 1024 * 1024 };

const KEY_RE = /^\w{1,256}$/;
const PATTERN_RE = /^[\w?*^-]{1,256}$/;

/** aleph's key patterns are Redis globs without brackets: `*` any run, `?` one character. */
export function globToRegExp(pattern: string): RegExp {
  const body = pattern.replace(/[*?^-]/g, (c) => (c === '*' ? '.*' : c === '?' ? '.' : `\\${c}`));
  return new RegExp(`^${body}$`, 's');
}

export class GuestCache {
  readonly #values = new Map<string, Buffer>();
  #bytes = 0;
  constructor(private readonly limits: CacheLimits = DEFAULT_CACHE_LIMITS) {}

  get(key: string): Buffer | undefined {
    return this.#values.get(key);
  }

  /** False when the value does not fit the limits. */
  set(key: string, value: Buffer): boolean {
    const old = this.#values.get(key);
    const bytes = this.#bytes - (old?.length ?? 0) + value.length;
    if (value.length > this.limits.maxValueBytes || bytes > this.limits.maxTotalBytes) return false;
    if (!old && this.#values.size >= this.limits.maxKeys) return false;
    this.#values.set(key, value);
    this.#bytes = bytes;
    return true;
  }

  delete(key: string): number {
    const old = this.#values.get(key);
    if (!old) return 0;
    this.#values.delete(key);
    this.#bytes -= old.length;
    return 1;
  }

  keys(pattern: string): string[] {
    const re = globToRegExp(pattern);
    return [...this.#values.keys()].filter((k) => re.test(k));
  }
}

function send(res: ServerResponse, status: number, body: unknown, type = 'application/json'): void {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(type === 'application/json' ? JSON.stringify(body) : String(body));
  res.writeHead(status, { 'content-type': type, 'content-length': bytes.length });
  res.end(bytes);
}

/** The request body, or undefined once it passes `max` bytes (the connection is then answered 413). */
function readBody(req: IncomingMessage, max: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        resolve(undefined);
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export function guestApiHandler(cache: GuestCache, limits: CacheLimits = DEFAULT_CACHE_LIMITS) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/cache/' && req.method === 'GET') {
      const pattern = url.searchParams.get('pattern') ?? '*';
      if (!PATTERN_RE.test(pattern)) return send(res, 400, 'Invalid key', 'text/plain');
      return send(res, 200, cache.keys(pattern));
    }
    if (url.pathname.startsWith('/cache/')) {
      const key = decodeURIComponent(url.pathname.slice('/cache/'.length));
      if (!KEY_RE.test(key)) return send(res, 400, 'Invalid key', 'text/plain');
      if (req.method === 'GET') {
        const value = cache.get(key);
        return value ? send(res, 200, value, 'application/octet-stream') : send(res, 404, 'No such key in cache', 'text/plain');
      }
      if (req.method === 'PUT') {
        const body = await readBody(req, limits.maxValueBytes);
        if (!body || !cache.set(key, body)) return send(res, 413, 'The cache is full or the value too large', 'text/plain');
        return send(res, 200, true);
      }
      if (req.method === 'DELETE') return send(res, 200, cache.delete(key));
      return send(res, 405, 'Method not allowed', 'text/plain');
    }
    return send(res, 501, { error: { code: 'NOT_IMPLEMENTED', message: 'this node serves only the cache on the guest API' } });
  };
}

/** Listens on the guest API socket (replacing a stale one). */
export async function startGuestApi(path = GUEST_API_SOCKET): Promise<Server> {
  await rm(path, { force: true });
  const handler = guestApiHandler(new GuestCache());
  const server = createServer((req, res) => {
    handler(req, res).catch(() => {
      if (!res.headersSent) send(res, 400, 'Bad request', 'text/plain');
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  return server;
}
