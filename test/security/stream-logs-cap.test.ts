/**
 * Attack (`stream_logs`): the live log websockets were uncapped; anyone could hold any
 * number open (an unauthenticated one for 10 s each, an authenticated one for as long as the VM
 * runs). Against a real CCN and CRN with small caps: sockets beyond the per-address cap, beyond
 * the per-execution cap (counted once authenticated) and beyond the node's total are answered
 * with the reference's `{"status": "failed", "reason"}` frame and closed; a slot frees when its
 * socket closes. Client addresses come from X-Forwarded-For, which the node trusts from loopback
 * (its reverse proxy), as behind the production proxy.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { EthAccount, OwnerSession } from '@aleph-nodes/protocol';
import { ECHO_PROGRAM, OWNER_KEY, startNodes, type Nodes } from '../crn/helpers/nodes.ts';

const DOMAIN = '127.0.0.1';

interface Socket {
  ws: WebSocket;
  /** Frames received so far. */
  frames: { status?: string; reason?: string; type?: string }[];
  closed: Promise<void>;
}

function open(url: string, ref: string, clientIp: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url.replace('http', 'ws')}/control/machine/${ref}/stream_logs`, { headers: { 'x-forwarded-for': clientIp } });
    const frames: Socket['frames'] = [];
    const closed = new Promise<void>((r) => ws.once('close', () => r()));
    ws.on('message', (data) => frames.push(JSON.parse(String(data)) as Socket['frames'][number]));
    ws.once('open', () => resolve({ ws, frames, closed }));
    ws.once('error', reject);
  });
}

async function firstFrame(s: Socket): Promise<Socket['frames'][number]> {
  const deadline = Date.now() + 10_000;
  while (s.frames.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.ok(s.frames.length > 0, 'a frame arrived');
  return s.frames[0] as Socket['frames'][number];
}

describe('stream_logs websockets are capped', { timeout: 120_000 }, () => {
  let nodes: Nodes;
  let program = '';
  const sockets: Socket[] = [];
  const session = new OwnerSession(EthAccount.fromPrivateKey(OWNER_KEY), DOMAIN);
  const authFrame = (): unknown => {
    const op = session.signOperation({ method: 'GET', path: `/control/machine/${program}/stream_logs`, domain: DOMAIN });
    return { auth: { 'X-SignedPubKey': JSON.parse(session.signedPubKey) as unknown, 'X-SignedOperation': JSON.parse(op) as unknown } };
  };
  const track = (s: Socket): Socket => {
    sockets.push(s);
    return s;
  };
  /** An authenticated stream; a slot freed by a close is free once the node has seen the close, so poll. */
  const connectedStream = async (clientIp: string): Promise<Socket> => {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const s = track(await open(nodes.crn.url, program, clientIp));
      s.ws.send(JSON.stringify(authFrame()));
      const frame = await firstFrame(s);
      if (frame.status === 'connected' || Date.now() > deadline) return s;
      await s.closed;
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  before(async () => {
    nodes = await startNodes({ streamLogsMaxPerIp: 2, streamLogsMaxPerExecution: 1, streamLogsMaxTotal: 4 });
    program = await nodes.publishProgram(ECHO_PROGRAM);
    assert.equal((await fetch(`${nodes.crn.url}/vm/${program}/`)).status, 200, 'the program runs');
  });
  after(async () => {
    for (const s of sockets) s.ws.terminate();
    await nodes?.close();
  });

  it('per address: the third socket from one address gets the failed frame and is closed', async () => {
    const a = [track(await open(nodes.crn.url, program, '198.51.100.1')), track(await open(nodes.crn.url, program, '198.51.100.1'))];
    const third = track(await open(nodes.crn.url, program, '198.51.100.1'));
    assert.deepEqual(await firstFrame(third), { status: 'failed', reason: 'too many log streams from this address' });
    await third.closed;
    // The two admitted ones are still open, waiting for their auth frame.
    assert.ok(a.every((s) => s.ws.readyState === WebSocket.OPEN && s.frames.length === 0));
    // Another address is not affected.
    const other = track(await open(nodes.crn.url, program, '198.51.100.2'));
    other.ws.send(JSON.stringify(authFrame()));
    assert.deepEqual(await firstFrame(other), { status: 'connected' });
    for (const s of a) {
      s.ws.close();
      await s.closed;
    }
  });

  it('per execution: a second authenticated stream of the same VM is refused; the slot frees on close', async () => {
    const connected = sockets.find((s) => s.frames[0]?.status === 'connected') as Socket;
    const second = track(await open(nodes.crn.url, program, '198.51.100.3'));
    second.ws.send(JSON.stringify(authFrame()));
    assert.deepEqual(await firstFrame(second), { status: 'failed', reason: 'too many log streams for this execution' });
    await second.closed;
    connected.ws.close();
    await connected.closed;
    // Freed: a new authenticated stream is accepted.
    const again = await connectedStream('198.51.100.3');
    assert.deepEqual(again.frames[0], { status: 'connected' });
    again.ws.close();
    await again.closed;
  });

  it('in total: beyond the node cap every new socket is refused, whatever its address', async () => {
    const held: Socket[] = [];
    for (let i = 0; i < 4; i++) held.push(track(await open(nodes.crn.url, program, `203.0.113.${i + 1}`)));
    const refused = track(await open(nodes.crn.url, program, '203.0.113.200'));
    assert.deepEqual(await firstFrame(refused), { status: 'failed', reason: 'too many log streams on this node' });
    await refused.closed;
    for (const s of held) {
      s.ws.close();
      await s.closed;
    }
    const after = await connectedStream('203.0.113.201');
    assert.deepEqual(after.frames[0], { status: 'connected' });
    after.ws.close();
  });
});
