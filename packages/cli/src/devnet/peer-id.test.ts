import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { describe, it } from 'node:test';
import { peerIdOfMultiaddress, readPeerId } from './peer-id.ts';

describe('CCN peer id', () => {
  it('is the /p2p/ part of a multiaddress (base58 or base32), else null', () => {
    assert.equal(peerIdOfMultiaddress('/ip4/127.0.0.1/tcp/4025/p2p/12D3KooWGzBkRwYnyVGcE5vGSFLbZDyTQoF9amyHrzaWFmGCHXPB'), '12D3KooWGzBkRwYnyVGcE5vGSFLbZDyTQoF9amyHrzaWFmGCHXPB');
    assert.equal(peerIdOfMultiaddress('/ip4/1.2.3.4/tcp/4025/p2p/QmaCpDMGvV2BGHeYERUEnRQAwe3N8SzbUtfsmvsqQLuvuJ'), 'QmaCpDMGvV2BGHeYERUEnRQAwe3N8SzbUtfsmvsqQLuvuJ');
    assert.equal(peerIdOfMultiaddress('/ip4/127.0.0.1/tcp/4025'), null);
    assert.equal(peerIdOfMultiaddress('/ip4/127.0.0.1/tcp/4025/p2p/not-a-peer-id'), null);
  });

  it('is read from /api/v0/p2p/peers or public.json, or null when the CCN publishes none', async () => {
    let addrs: unknown = [];
    let peers: { status: number; body: unknown } = { status: 404, body: {} };
    const server = createServer((req, res) => {
      if (req.url === '/api/v0/p2p/peers') {
        res.statusCode = peers.status;
        res.end(JSON.stringify(peers.body));
      } else res.end(JSON.stringify({ node_multi_addresses: addrs }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      assert.equal(await readPeerId(url, 0), null);
      addrs = ['/ip4/127.0.0.1/tcp/4025', '/ip4/127.0.0.1/tcp/4025/p2p/12D3KooWGzBkRwYnyVGcE5vGSFLbZDyTQoF9amyHrzaWFmGCHXPB'];
      assert.equal(await readPeerId(url, 0), '12D3KooWGzBkRwYnyVGcE5vGSFLbZDyTQoF9amyHrzaWFmGCHXPB');
      addrs = 'garbage';
      assert.equal(await readPeerId(url, 0), null);
      peers = { status: 200, body: { enabled: false, peer_id: null } };
      assert.equal(await readPeerId(url, 0), null);
      peers = { status: 200, body: { enabled: true, peer_id: '12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo' } };
      assert.equal(await readPeerId(url, 0), '12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo');
      peers = { status: 200, body: { peer_id: '../../etc' } };
      assert.equal(await readPeerId(url, 0), null);
    } finally {
      server.close();
    }
  });
});
