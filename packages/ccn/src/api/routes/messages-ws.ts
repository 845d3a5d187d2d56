/**
 * WebSocket GET /api/ws0/messages (aleph-protocol.md §7.4): `history` past matching messages first
 * (oldest first), then every newly processed matching message, one JSON object per text frame.
 * Client frames are ignored; a ping every 30 s keeps intermediaries from closing the socket.
 */
import type { FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';
import { matchesFilter } from '../../db/message-filter-match.ts';
import type { MessageFilter, MessageRow } from '../../db/messages-repo.ts';
import { toApiMessage } from '../../db/message-views.ts';
import type { Stores } from '../../stores.ts';
import type { CcnConfig } from '../../config.ts';
import type { MessageProcessor } from '../../processing/processor.ts';
import { InFlightLimiter } from '../in-flight.ts';
import { intParam, messageFilterOf, type RawQuery } from '../query.ts';
import { contentFormatOf } from './messages-read.ts';

const PING_INTERVAL_MS = 30_000;
/** Close code 1013 "try again later" when the connection budget is used up. */
const TRY_AGAIN_LATER = 1013;
/** Policy violation: the query was invalid. */
const POLICY_VIOLATION = 1008;
const INTERNAL_ERROR = 1011;

/** What the message WebSocket uses: the processor's events (live pushes), the history, the connection caps. */
export interface MessagesWsDeps {
  stores: Pick<Stores, 'messages'>;
  processor: Pick<MessageProcessor, 'events'>;
  config: Pick<CcnConfig, 'websocketMaxConnections' | 'websocketMaxConnectionsPerIp' | 'websocketHistoryDefault'>;
}

export async function messagesWsRoutes(app: FastifyInstance, deps: MessagesWsDeps): Promise<void> {
  const sockets = new Set<WebSocket>();
  /** Open sockets per client address: one address cannot take the whole budget. */
  const perIp = new InFlightLimiter(deps.config.websocketMaxConnections, deps.config.websocketMaxConnectionsPerIp);

  app.get('/api/ws0/messages', { websocket: true }, async (socket, request) => {
    const ip = request.ip;
    const admitted = perIp.tryAcquire(ip);
    if (admitted !== 'ok') {
      socket.close(TRY_AGAIN_LATER, admitted === 'per-key' ? 'too many connections from this address' : 'too many connections, try again later');
      return;
    }
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      perIp.release(ip);
    };
    socket.once('close', release);
    let filter: MessageFilter;
    let liveFilter: MessageFilter;
    let history: number;
    let withContent: boolean;
    try {
      const query = request.query as RawQuery;
      // Only processed messages are ever pushed, whatever the query says.
      filter = { ...messageFilterOf(query, undefined), statuses: ['processed'] };
      // pyaleph: the dates select the history only; every new matching message is pushed.
      const { startDate: _start, endDate: _end, ...live } = filter;
      liveFilter = live;
      history = intParam(query, 'history', deps.config.websocketHistoryDefault, 0, 199);
      // pyaleph: content or none (`headers` is served as none on the socket).
      withContent = contentFormatOf(query) === 'full';
    } catch (err) {
      release();
      socket.close(POLICY_VIOLATION, (err as Error).message.slice(0, 120));
      return;
    }
    sockets.add(socket);
    const send = (row: MessageRow): void => {
      if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(toApiMessage(row, withContent)));
    };
    // Subscribe first and hold live messages back until the history is out: nothing is lost
    // between the two, and a message in both is sent once.
    const held: MessageRow[] = [];
    let replaying = history > 0;
    const onProcessed = (row: MessageRow): void => {
      if (!matchesFilter(row, liveFilter)) return;
      if (replaying) held.push(row);
      else send(row);
    };
    const ping = setInterval(() => {
      if (socket.readyState === socket.OPEN) socket.ping();
    }, PING_INTERVAL_MS);
    const cleanup = (): void => {
      release();
      clearInterval(ping);
      deps.processor.events.off('processed', onProcessed);
      sockets.delete(socket);
    };
    socket.on('close', cleanup);
    socket.on('error', cleanup);
    socket.on('message', () => {
      // Client frames carry nothing for us.
    });
    deps.processor.events.on('processed', onProcessed);
    if (!replaying) return;
    try {
      const past = (await deps.stores.messages.list(filter, { perPage: history, page: 1, sortOrder: -1 })).reverse();
      const sent = new Set(past.map((r) => r.item_hash));
      for (const row of past) send(row);
      for (const row of held) if (!sent.has(row.item_hash)) send(row);
    } catch (err) {
      request.log.error({ err }, 'websocket history failed');
      socket.close(INTERNAL_ERROR, 'internal error');
    } finally {
      replaying = false;
      held.length = 0;
    }
  });

  app.addHook('onClose', async () => {
    for (const socket of sockets) socket.close(1001, 'node shutting down');
  });
}
