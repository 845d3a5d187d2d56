import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PeerDirectory } from '../network/peers.ts';
import { AliveHandler, aliveMessage, httpBaseUrl } from './alive.ts';
import { VerdictCounters } from './verdicts.ts';

const A = '12D3KooWQ8aPtjCfotnGKDR7gCNUt1auJSH5Q9yDqyYk2Dq9gudD';
const B = '12D3KooWMbfQeWTGD3nphBizJdyQp8MsmrJZGLnhQj82C3B7CzGK';
const maOf = (id: string): string => `/ip4/10.0.0.1/tcp/4025/p2p/${id}`;

function setUp(allowed: Set<string>): { handler: AliveHandler; directory: PeerDirectory; dialed: string[] } {
  const directory = new PeerDirectory();
  const dialed: string[] = [];
  const handler = new AliveHandler({ topic: 'ALIVE', directory, counters: new VerdictCounters(), isAllowed: (p) => allowed.has(p), onP2pAddress: (a) => dialed.push(a) });
  return { handler, directory, dialed };
}
const msg = (data: Uint8Array, author: string | undefined = A, from = A) => ({ topic: 'ALIVE', data, from, author });

describe('ALIVE announcements', () => {
  it('takes an allowlisted peer\'s P2P and HTTP addresses into the directory', () => {
    const { handler, directory, dialed } = setUp(new Set([A]));
    assert.equal(handler.handle(msg(aliveMessage(maOf(A), 'P2P', '0.1.0'))), 'accept');
    assert.equal(handler.handle(msg(aliveMessage('http://10.0.0.1:4024', 'HTTP', '0.1.0'))), 'accept');
    assert.deepEqual(directory.httpUrls(), ['http://10.0.0.1:4024']);
    assert.deepEqual(directory.byPeerId(A)?.multiaddrs, [maOf(A)]);
    assert.deepEqual(dialed, [maOf(A)]);
  });

  it('ignores anyone else, and applies their announcement once they are allowlisted', () => {
    const allowed = new Set<string>();
    const { handler, directory } = setUp(allowed);
    assert.equal(handler.handle(msg(aliveMessage('http://10.0.0.1:4024', 'HTTP', '0.1.0'))), 'ignore');
    assert.deepEqual(directory.list(), []);
    allowed.add(A);
    handler.allowlisted(A);
    assert.deepEqual(directory.httpUrls(), ['http://10.0.0.1:4024']);
  });

  it('rejects malformed announcements and addresses that lie', () => {
    const { handler, directory } = setUp(new Set([A, B]));
    const enc = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v));
    assert.equal(handler.handle(msg(aliveMessage(maOf(B), 'P2P', '0.1.0'))), 'reject', 'a P2P address of another peer');
    assert.equal(handler.handle(msg(aliveMessage('http://user:pw@10.0.0.1:4024', 'HTTP', '0.1.0'))), 'reject');
    assert.equal(handler.handle(msg(aliveMessage('file:///etc/passwd', 'HTTP', '0.1.0'))), 'reject');
    assert.equal(handler.handle(msg(enc({ address: 5, peer_type: 'P2P' }))), 'reject');
    assert.equal(handler.handle(msg(enc({ address: 'x', peer_type: 'FTP' }))), 'reject');
    assert.equal(handler.handle(msg(new TextEncoder().encode('nope'))), 'reject');
    assert.equal(handler.handle(msg(new Uint8Array(5000).fill(0x7b))), 'reject');
    assert.equal(handler.handle({ topic: 'ALIVE', data: aliveMessage(maOf(A), 'P2P', '0.1.0'), from: A }), 'reject', 'unsigned');
    assert.deepEqual(directory.list(), []);
  });

  it('accepts only bare http(s) base URLs', () => {
    assert.equal(httpBaseUrl('http://1.2.3.4:4024'), 'http://1.2.3.4:4024');
    assert.equal(httpBaseUrl('https://api.example.org/'), 'https://api.example.org');
    for (const bad of ['http://h/api', 'http://h/?q=1', 'ftp://h', 'not a url', 'http://u@h']) assert.equal(httpBaseUrl(bad), undefined, bad);
  });
});
