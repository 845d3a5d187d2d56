/**
 * Requests to peers. Everything a peer answers is bounded before it is parsed: its size (the
 * declared length, then the bytes actually read), its time, and its shape (zod, by the caller).
 * Redirects are refused: a peer names only its own API.
 */
import type { z } from 'zod';

/** Why a request to a peer failed, for its score: a `lie` costs more than a `transport` error. */
export type PeerFailureKind = 'transport' | 'status' | 'too-large' | 'malformed' | 'lie' | 'invalid' | 'mismatch';

export class PeerError extends Error {
  override readonly name = 'PeerError';
  readonly kind: PeerFailureKind;
  readonly status: number | undefined;
  /** How many offences this error stands for (e.g. invalid messages in one batch). */
  readonly count: number;

  constructor(kind: PeerFailureKind, message: string, opts: { status?: number; count?: number } = {}) {
    super(message);
    this.kind = kind;
    this.status = opts.status;
    this.count = opts.count ?? 1;
  }
}

export interface RequestLimits {
  timeoutMs: number;
  maxBytes: number;
  /** Aborts the request (the service stopping). */
  signal?: AbortSignal | undefined;
}

function signalOf(limits: RequestLimits): AbortSignal {
  const timeout = AbortSignal.timeout(limits.timeoutMs);
  return limits.signal ? AbortSignal.any([timeout, limits.signal]) : timeout;
}

/**
 * GET `url`; the response is open (body unread) and its status is 200, else PeerError.
 * `timeoutMs` bounds the whole exchange, body included; `headersTimeoutMs` (if shorter) the wait
 * for the answer to start, so a peer that never answers does not hold a long download slot.
 */
export async function open(url: string, limits: Pick<RequestLimits, 'timeoutMs' | 'signal'> & { headersTimeoutMs?: number }): Promise<Response> {
  const headers = new AbortController();
  const timer = limits.headersTimeoutMs === undefined ? undefined : setTimeout(() => headers.abort(new Error('no answer in time')), limits.headersTimeoutMs);
  let res: Response;
  try {
    res = await fetch(url, {
      signal: AbortSignal.any([signalOf({ ...limits, maxBytes: 0 }), headers.signal]),
      redirect: 'error',
      headers: { accept: 'application/json, application/octet-stream' },
    });
  } catch (err) {
    throw new PeerError('transport', `${url}: ${(err as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
  if (res.status !== 200) {
    await res.body?.cancel().catch(() => undefined);
    throw new PeerError('status', `${url} answered ${res.status}`, { status: res.status });
  }
  return res;
}

/** Reads a response body, failing as soon as it passes `maxBytes` (declared or actual). */
export async function readBounded(res: Response, maxBytes: number, what: string): Promise<Buffer> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await res.body?.cancel().catch(() => undefined);
    throw new PeerError('too-large', `${what} declares ${declared} bytes, more than ${maxBytes}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  if (!res.body) return Buffer.alloc(0);
  const reader = res.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) throw new PeerError('too-large', `${what} is larger than ${maxBytes} bytes`);
      chunks.push(Buffer.from(value));
    }
  } catch (err) {
    await reader.cancel().catch(() => undefined);
    if (err instanceof PeerError) throw err;
    throw new PeerError('transport', `${what}: ${(err as Error).message}`);
  }
  return Buffer.concat(chunks);
}

/** GET a JSON document of the given shape, bounded in time and size; with the bytes read. */
export async function getJson<T>(url: string, schema: z.ZodType<T>, limits: RequestLimits): Promise<{ data: T; bytes: number }> {
  const res = await open(url, limits);
  const bytes = await readBounded(res, limits.maxBytes, url);
  let body: unknown;
  try {
    body = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new PeerError('malformed', `${url} did not answer JSON`);
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new PeerError('malformed', `${url} answered an unexpected shape: ${parsed.error.issues[0]?.message ?? ''}`);
  return { data: parsed.data, bytes: bytes.length };
}
