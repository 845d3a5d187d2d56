/** The message WebSocket (aleph-protocol.md §7.4) of a real CCN process: history first, then live pushes. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { buildInlineMessage, EthAccount, type AlephMessage } from '@aleph-nodes/protocol';
import { startCcnProcess, type CcnProcess } from './helpers/ccn-process.ts';

interface Frame {
  item_hash: string;
  item_type: string;
  content: { content?: unknown };
}

/** Collects the frames of a socket; `next(n)` resolves once n frames have arrived in total. */
function collect(socket: WebSocket): { frames: Frame[]; next(count: number): Promise<Frame[]> } {
  const frames: Frame[] = [];
  const waiters: { count: number; resolve(f: Frame[]): void }[] = [];
  socket.on('message', (data) => {
    frames.push(JSON.parse(String(data)) as Frame);
    for (const w of [...waiters]) {
      if (frames.length >= w.count) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(frames.slice(0, w.count));
      }
    }
  });
  return {
    frames,
    next(count) {
      if (frames.length >= count) return Promise.resolve(frames.slice(0, count));
      return new Promise((resolve) => waiters.push({ count, resolve }));
    },
  };
}

describe('message WebSocket', () => {
  let ccn: CcnProcess;
  const sockets: WebSocket[] = [];

  const submit = async (message: AlephMessage): Promise<void> => {
    const res = await fetch(`${ccn.url}/api/v0/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sync: true, message }),
    });
    assert.equal(res.status, 200);
  };
  // The collector is attached before the socket opens: history frames can arrive in the same
  // read as the upgrade answer, and are emitted before an `await` on 'open' resumes.
  const open = async (query: string): Promise<ReturnType<typeof collect>> => {
    const socket = new WebSocket(`${ccn.url.replace(/^http/, 'ws')}/api/ws0/messages?${query}`);
    sockets.push(socket);
    const feed = collect(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return feed;
  };

  before(async () => {
    ccn = await startCcnProcess();
  });
  after(async () => {
    for (const s of sockets) s.terminate();
    await ccn?.stop();
  });

  it('sends the matching history oldest first, then newly processed messages', async () => {
    const alice = EthAccount.generate();
    const bob = EthAccount.generate();
    const past = [1, 2, 3].map((n) => buildInlineMessage(alice, 'POST', { type: 'ws', content: n }, { time: 1_700_000_000 + n }));
    for (const m of past) await submit(m);
    await submit(buildInlineMessage(bob, 'POST', { type: 'ws', content: 'bob' }, { time: 1_700_000_010 }));

    const feed = await open(`history=2&addresses=${alice.address}`);
    const history = await feed.next(2);
    assert.deepEqual(history.map((f) => f.item_hash), [past[1]?.item_hash, past[2]?.item_hash]);

    // A message of another sender is not pushed; the next one of alice is.
    await submit(buildInlineMessage(bob, 'POST', { type: 'ws', content: 'bob again' }));
    const live = buildInlineMessage(alice, 'POST', { type: 'ws', content: 'live' });
    await submit(live);
    const frames = await feed.next(3);
    assert.equal(frames[2]?.item_hash, live.item_hash);
    assert.equal(frames[2]?.item_type, 'inline');
    assert.equal(frames[2]?.content.content, 'live');
    assert.equal(feed.frames.length, 3);
  });

  it('filters by message type when asked, and by nothing otherwise', async () => {
    const carol = EthAccount.generate();
    const typed = await open(`history=0&msgType=AGGREGATE&addresses=${carol.address}`);
    const all = await open(`history=0&addresses=${carol.address}`);
    const post = buildInlineMessage(carol, 'POST', { type: 'ws', content: 1 });
    const aggregate = buildInlineMessage(carol, 'AGGREGATE', { key: 'k', content: { a: 1 } });
    await submit(post);
    await submit(aggregate);
    assert.deepEqual((await all.next(2)).map((f) => f.item_hash), [post.item_hash, aggregate.item_hash]);
    assert.deepEqual((await typed.next(1)).map((f) => f.item_hash), [aggregate.item_hash]);
  });

  it('closes a socket with an invalid query instead of failing silently', async () => {
    const socket = new WebSocket(`${ccn.url.replace(/^http/, 'ws')}/api/ws0/messages?msgType=NOPE`);
    sockets.push(socket);
    const code = await new Promise<number>((resolve) => socket.once('close', (c) => resolve(c)));
    assert.equal(code, 1008);
  });
});
