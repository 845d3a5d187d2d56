/**
 * A CCN that passes on what it should have refused: a relay in front of a real CCN (every HTTP
 * request forwarded as it is, the message websocket relayed frame by frame) that can also push
 * frames of its own to the CRNs following it. Security tests point a CRN at it to show that the
 * CRN decides for itself: a hostile message reaches the CRN whether or not the real CCN accepts
 * it (today's CCN accepts some, another change makes it refuse them; the CRN must not care).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { request } from 'undici';
import WebSocket, { WebSocketServer } from 'ws';

export interface CcnRelay {
  url: string;
  /** Sends `frame` (a message as the CCN's websocket sends it) to every connected follower. */
  inject(frame: Record<string, unknown>): void;
  /**
   * Answers for `message` as the CCN would for a processed one (`messages.json?hashes=`, its
   * status), when the real CCN refused it.
   */
  serve(message: Record<string, unknown>): void;
  /** Followers connected now. */
  followers(): number;
  close(): Promise<void>;
}

async function forward(upstream: string, req: IncomingMessage): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> {
  const chunks: Buffer[] = [];
  for await (const c of req as AsyncIterable<Buffer>) chunks.push(c);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && !['host', 'connection', 'content-length', 'transfer-encoding'].includes(k)) headers[k] = v;
  const res = await request(new URL(req.url ?? '/', upstream), {
    method: (req.method ?? 'GET') as 'GET',
    headers,
    body: chunks.length > 0 ? Buffer.concat(chunks) : undefined,
  });
  const body = Buffer.from(await res.body.arrayBuffer());
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string' && !['connection', 'transfer-encoding', 'content-length', 'keep-alive'].includes(k)) out[k] = v;
  return { status: res.statusCode, headers: out, body };
}

/** The answer for a served message, if `url` asks for one. */
function servedAnswer(served: Map<string, Record<string, unknown>>, url: string): unknown {
  const u = new URL(url, 'http://relay');
  if (u.pathname === '/api/v0/messages.json') {
    const hash = u.searchParams.get('hashes');
    const message = hash ? served.get(hash) : undefined;
    return message ? { messages: [message], pagination_page: 1, pagination_total: 1, pagination_per_page: 20, pagination_item: 'messages' } : undefined;
  }
  const status = /^\/api\/v0\/messages\/([0-9a-f]{64})\/status$/.exec(u.pathname);
  if (status && served.has(status[1] as string)) return { status: 'processed', item_hash: status[1], reception_time: new Date().toISOString() };
  return undefined;
}

export async function startCcnRelay(upstream: string): Promise<CcnRelay> {
  const followers = new Set<WebSocket>();
  const served = new Map<string, Record<string, unknown>>();
  const server: Server = createServer((req, res) => {
    const own = servedAnswer(served, req.url ?? '/');
    if (own !== undefined) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(own));
      return;
    }
    forward(upstream, req).then(
      ({ status, headers, body }) => {
        res.writeHead(status, { ...headers, 'content-length': body.length });
        res.end(body);
      },
      (err: Error) => {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(err.message);
      },
    );
  });
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket: Socket, head) => {
    wss.handleUpgrade(req, socket, head, (client) => {
      const up = new WebSocket(new URL(req.url ?? '/', upstream.replace(/^http/, 'ws')));
      followers.add(client);
      up.on('message', (data) => {
        if (client.readyState === client.OPEN) client.send(String(data));
      });
      const end = (): void => {
        followers.delete(client);
        client.terminate();
        up.terminate();
      };
      up.on('close', end);
      up.on('error', end);
      client.on('close', end);
      client.on('error', end);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    inject(frame) {
      for (const f of followers) if (f.readyState === f.OPEN) f.send(JSON.stringify(frame));
    },
    serve(message) {
      served.set(String(message.item_hash), message);
    },
    followers: () => followers.size,
    async close() {
      for (const f of followers) f.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
