/**
 * Follows the CCN's message websocket (`/api/ws0/messages?startDate=<now>`) and hands every full
 * message frame to its handler, as received: nothing here is trusted or acted on. What a FORGET
 * or an amend may do to an execution is decided, after verification and an ownership check, by
 * execution/heard-messages.ts.
 *
 * With a list of CCNs, it follows whichever answers: a socket that closes (or never opens) is
 * reopened on the next CCN of the list, resuming from the time of the last frame; once a full
 * turn of the list failed it backs off. While it follows another than the first, it goes back to
 * the first after `failbackMs` (the first is the operator's preferred CCN). Frames may repeat
 * across a switch; their handlers are idempotent (a FORGET forgets once).
 */
import WebSocket from 'ws';
import { backoffMs, ServiceLoop, type Logger } from '@aleph-nodes/service';

/** Largest frame accepted (an inline content is at most 200,000 characters; headroom for the envelope). */
const MAX_FRAME_BYTES = 4 * 1024 * 1024;

export interface MessageWatchHandlers {
  /** Every full message received, unverified (FORGET/amend handling, `on.message` triggers). */
  message(message: Record<string, unknown>): void;
}

export class MessageWatch {
  /** One round = one connection, from its opening to its close; it returns the delay before the next. */
  readonly #loop: ServiceLoop;
  /** Failed connections in a row (a whole turn of the list backs off). */
  #attempt = 0;
  #index = 0;
  /** Where the next connection resumes (unix seconds). */
  #lastSeen = 0;
  readonly #urls: readonly string[];
  readonly #failbackMs: number;

  constructor(
    ccnUrls: string | readonly string[],
    private readonly handlers: MessageWatchHandlers,
    private readonly logger: Logger,
    opts: { failbackMs?: number } = {},
  ) {
    this.#urls = typeof ccnUrls === 'string' ? [ccnUrls] : [...ccnUrls];
    if (this.#urls.length === 0) throw new Error('MessageWatch needs at least one CCN URL');
    this.#failbackMs = opts.failbackMs ?? 60_000;
    this.#loop = new ServiceLoop({ name: 'message watch', log: logger, round: ({ signal }) => this.#follow(signal) });
  }

  /** The CCN followed now (or tried next). */
  get ccnUrl(): string {
    return this.#urls[this.#index] as string;
  }

  start(): void {
    this.#lastSeen = Date.now() / 1000;
    this.#loop.start();
  }

  /** Closes the socket; resolves once its connection ended. */
  close(): Promise<void> {
    return this.#loop.stop();
  }

  /** Follows one CCN until its socket closes (or the watch stops); returns the delay before the next connection. */
  #follow(signal: AbortSignal): Promise<number> {
    const ccnUrl = this.ccnUrl;
    const url = new URL('api/ws0/messages', ccnUrl.endsWith('/') ? ccnUrl : `${ccnUrl}/`);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    url.searchParams.set('startDate', String(Math.floor(this.#lastSeen)));
    url.searchParams.set('history', '0');
    const socket = new WebSocket(url, { maxPayload: MAX_FRAME_BYTES });
    let opened = false;
    let failback: NodeJS.Timeout | undefined;
    const stop = (): void => socket.terminate();
    signal.addEventListener('abort', stop, { once: true });
    socket.on('open', () => {
      opened = true;
      this.#attempt = 0;
      this.logger.info({ ccn: ccnUrl }, 'following the CCN message stream');
      if (this.#index !== 0) {
        // Following a fallback CCN: go back to the first one later (closing makes the reconnect try it).
        failback = setTimeout(() => {
          this.#index = this.#urls.length - 1; // the close handler advances to 0
          socket.close();
        }, this.#failbackMs);
        failback.unref();
      }
    });
    socket.on('message', (data) => {
      let msg: { type?: string; item_type?: string; item_hash?: string; time?: number; content?: Record<string, unknown> };
      try {
        msg = JSON.parse(String(data)) as typeof msg;
      } catch {
        return;
      }
      // Frames that are not full messages are skipped, as the reference CRN does.
      if (!msg || typeof msg !== 'object' || !msg.item_type || !msg.content) return;
      // Where to resume after a reconnect; a frame's time is not trusted beyond the present.
      if (typeof msg.time === 'number') this.#lastSeen = Math.min(Date.now() / 1000, Math.max(this.#lastSeen, msg.time));
      try {
        this.handlers.message(msg as Record<string, unknown>);
      } catch (err) {
        this.logger.warn({ err: (err as Error).message }, 'message handler failed');
      }
    });
    socket.on('error', (err) => this.logger.debug({ err: err.message }, 'message websocket error'));
    return new Promise((resolve) => {
      socket.on('close', () => {
        if (failback) clearTimeout(failback);
        signal.removeEventListener('abort', stop);
        if (signal.aborted) return resolve(Infinity);
        if (!opened) this.#attempt += 1;
        // The next CCN of the list; a full turn without success backs off, a lost connection does not.
        this.#index = (this.#index + 1) % this.#urls.length;
        const turns = Math.floor(this.#attempt / this.#urls.length);
        const delay = opened ? 200 : this.#attempt % this.#urls.length !== 0 ? 100 : backoffMs(turns, { baseMs: 500, maxMs: 30_000 });
        if (opened && this.#urls.length > 1) this.logger.warn({ ccn: ccnUrl, next: this.ccnUrl }, 'CCN message stream closed: following the next CCN');
        resolve(delay);
      });
    });
  }
}
