/** The message watch over a list of CCNs: it follows whichever answers and goes back to the first later. Real websocket servers. */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { WebSocketServer } from 'ws';
import { silentLogger } from '@aleph-nodes/service';
import { MessageWatch } from './message-watch.ts';

/** Polls `check` until it holds; rejects naming `what` after `timeoutMs`. */
async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error(`${what} never happened`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

interface FakeStream {
  url: string;
  server: WebSocketServer;
  connections: number;
  send(frame: object): void;
}

async function stream(port = 0): Promise<FakeStream> {
  const server = new WebSocketServer({ host: '127.0.0.1', port });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const s: FakeStream = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    server,
    connections: 0,
    send: (frame) => {
      for (const c of server.clients) c.send(JSON.stringify(frame));
    },
  };
  server.on('connection', () => s.connections++);
  return s;
}

const close = (s: FakeStream): Promise<void> =>
  new Promise((resolve) => {
    for (const c of s.server.clients) c.terminate();
    s.server.close(() => resolve());
  });

describe('MessageWatch with a list of CCNs', () => {
  const watches: MessageWatch[] = [];
  after(() => {
    for (const w of watches) w.close();
  });

  it('follows the next CCN when the first is down or goes away, and the first again after the fail-back delay', async () => {
    const first = await stream();
    const firstPort = Number(new URL(first.url).port);
    await close(first);
    const second = await stream();
    const heard: string[] = [];
    const watch = new MessageWatch([first.url, second.url], { message: (m) => heard.push(String(m.item_hash)) }, silentLogger(), { failbackMs: 300 });
    watches.push(watch);
    watch.start();
    await until(() => second.connections === 1, 'a connection to the second CCN');
    second.send({ item_type: 'inline', item_hash: 'from-second', content: {} });
    await until(() => heard.includes('from-second'), 'a frame from the second CCN');
    // The first comes back: after the fail-back delay the watch follows it again.
    const back = await stream(firstPort);
    await until(() => back.connections === 1, 'back on the first CCN', 5000);
    back.send({ item_type: 'inline', item_hash: 'from-first', content: {} });
    await until(() => heard.includes('from-first'), 'a frame from the first CCN');
    assert.equal(watch.ccnUrl, first.url);
    // The first dies: the watch moves to the second at once.
    const before = second.connections;
    await close(back);
    await until(() => second.connections > before, 'following the second CCN again', 5000);
    await close(second);
  });
});
