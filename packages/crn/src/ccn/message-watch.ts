/**
 * Follows the CCN's message websocket (`/api/ws0/messages?startDate=<now>`) and hands every full
 * message frame to its handler, as received: nothing here is trusted or acted on. What a FORGET
 * or an amend may do to an execution is decided, after verification and an ownership check, by
 * execution/heard-messages.ts. Reconnects with a backoff.
 */
import WebSocket from 'ws';
import type { Logger } from '@aleph-nodes/service';

/** Largest frame accepted (an inline content is at most 200,000 characters; headroom for the envelope). */
const MAX_FRAME_BYTES = 4 * 1024 * 1024;

export interface MessageWatchHandlers {
  /** Every full message received, unverified (FORGET/amend handling, `on.message` triggers). */
  message(message: Record<string, unknown>): void;
}

export class MessageWatch {
  #socket: WebSocket | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #attempt = 0;

  constructor(
    private readonly ccnUrl: string,
    private readonly handlers: MessageWatchHandlers,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.#connect(Date.now() / 1000);
  }

  #connect(since: number): void {
    if (this.#closed) return;
    const url = new URL('api/ws0/messages', this.ccnUrl.endsWith('/') ? this.ccnUrl : `${this.ccnUrl}/`);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    url.searchParams.set('startDate', String(Math.floor(since)));
    url.searchParams.set('history', '0');
    const socket = new WebSocket(url, { maxPayload: MAX_FRAME_BYTES });
    this.#socket = socket;
    let lastSeen = since;
    socket.on('open', () => {
      this.#attempt = 0;
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
      if (typeof msg.time === 'number') lastSeen = Math.min(Date.now() / 1000, Math.max(lastSeen, msg.time));
      try {
        this.handlers.message(msg as Record<string, unknown>);
      } catch (err) {
        this.logger.warn({ err: (err as Error).message }, 'message handler failed');
      }
    });
    socket.on('error', (err) => this.logger.debug({ err: err.message }, 'message websocket error'));
    socket.on('close', () => {
      if (this.#closed) return;
      const delay = Math.min(30_000, 500 * 2 ** this.#attempt++);
      this.#timer = setTimeout(() => this.#connect(lastSeen), delay);
      this.#timer.unref();
    });
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#socket?.terminate();
  }
}
