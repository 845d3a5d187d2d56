/**
 * Caps on what an outsider holds open, per node and per client address: uploads in flight (a slow
 * or parked upload holds a file descriptor, a temporary file and, for `add_json`, its body in
 * memory) and WebSocket subscriptions (messages-ws.ts). The counters live in the app that owns
 * them (no module state); an upload's slot is released when its response is finished or its
 * connection closes, whichever comes first.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CCN_ERRORS } from '../errors.ts';

/** Seconds a refused client is told to wait (Retry-After). */
const RETRY_AFTER_SECONDS = 1;

export class InFlightLimiter {
  readonly #maxTotal: number;
  readonly #maxPerKey: number;
  readonly #perKey = new Map<string, number>();
  #total = 0;

  constructor(maxTotal: number, maxPerKey: number) {
    this.#maxTotal = maxTotal;
    this.#maxPerKey = maxPerKey;
  }

  get total(): number {
    return this.#total;
  }

  /** Takes a slot for `key`; says which cap refused it otherwise. */
  tryAcquire(key: string): 'ok' | 'per-key' | 'total' {
    const held = this.#perKey.get(key) ?? 0;
    if (held >= this.#maxPerKey) return 'per-key';
    if (this.#total >= this.#maxTotal) return 'total';
    this.#perKey.set(key, held + 1);
    this.#total += 1;
    return 'ok';
  }

  release(key: string): void {
    const held = this.#perKey.get(key) ?? 0;
    if (held <= 0) return;
    if (held === 1) this.#perKey.delete(key);
    else this.#perKey.set(key, held - 1);
    this.#total -= 1;
  }
}

/**
 * An `onRequest` hook (it runs before the body is read) that admits an upload or answers 429
 * (this address has too many in flight) or 503 (the node has), with Retry-After.
 */
export function uploadGate(limiter: InFlightLimiter) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const ip = request.ip;
    const verdict = limiter.tryAcquire(ip);
    if (verdict === 'ok') {
      let released = false;
      const release = (): void => {
        if (released) return;
        released = true;
        limiter.release(ip);
      };
      reply.raw.once('close', release);
      reply.raw.once('finish', release);
      return;
    }
    const error =
      verdict === 'per-key'
        ? CCN_ERRORS.error('TOO_MANY_UPLOADS', `this address already has the most uploads in flight; retry in ${RETRY_AFTER_SECONDS} s`)
        : CCN_ERRORS.error('UPLOADS_BUSY', `the node is handling as many uploads as it takes; retry in ${RETRY_AFTER_SECONDS} s`);
    // The body is not read: close the connection after the answer instead of draining it.
    await reply.status(error.status).header('retry-after', String(RETRY_AFTER_SECONDS)).header('connection', 'close').type('application/json').send(error.body());
  };
}
