/**
 * Attack: a peer that lies in sync. One hostile HTTP server plays five peers (one
 * per path prefix), next to an honest CCN, all named in the victim CCN's `syncPeers`:
 *   tampered   relays the honest pages, serves the listed messages with their content altered,
 *              plus made-up hashes whose content does not hash to them;
 *   badsig     lists made-up messages whose hash is right but whose signature is another key's;
 *   huge       answers pages far larger than allowed (bytes) and with more entries than asked;
 *   backwards  answers every page with the same entries, so its sequence goes backwards;
 *   refuses    lists hashes it then does not serve (says they are missing, or answers nothing).
 * Nothing invalid is stored on the victim (not the altered versions, not the made-up hashes),
 * the honest CCN's messages all arrive intact, and every hostile peer is scored down and banned:
 * it gets no request while banned.
 *
 * Without the checks (a puller that stored what peers sent, trusted their cursors and read their
 * answers whole), the altered and made-up messages would be stored or the node would buffer the
 * huge answers; without scores, the hostile peers would be asked every round.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { buildInlineMessage, EthAccount, sha256Hex } from '@aleph-nodes/protocol';
import { eventually } from '../helpers/eventually.ts';
import { netNode, peerOf, posts, sameMaps, statuses, submitAll, syncStatus, type NetNode, type SyncView } from '../ccn-network/helpers.ts';

const CHANNEL = `SYNC-HOSTILE-${Date.now()}`;
const honestAuthor = EthAccount.generate();
const forger = EthAccount.generate();
const victimOf = EthAccount.generate();
const MODES = ['tampered', 'badsig', 'huge', 'backwards', 'refuses'] as const;
type Mode = (typeof MODES)[number];

/** Messages only the hostile peers list: they must never be stored. */
const madeUp = {
  // Right shape, content that does not hash to the item_hash.
  tampered: Array.from({ length: 12 }, (_, i) => {
    const m = buildInlineMessage(victimOf, 'POST', { type: 'made-up', content: { i } }, { channel: CHANNEL });
    return { ...m, item_content: m.item_content!.replace('made-up', 'made-uP') };
  }),
  // Listed, never served: nobody else has them either.
  refused: Array.from({ length: 12 }, (_, i) => sha256Hex(`refused-${i}-${Date.now()}`)),
  // Right hash, signed by the forger but claiming another sender.
  badsig: Array.from({ length: 12 }, (_, i) => {
    const m = buildInlineMessage(forger, 'POST', { type: 'forged', content: { i } }, { channel: CHANNEL, address: victimOf.address });
    return { ...m, sender: victimOf.address };
  }),
};

function json(res: ServerResponse, body: unknown): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function relay(upstream: string, path: string): Promise<any> {
  return (await fetch(`${upstream}${path}`)).json();
}

function hostile(upstream: () => string, hits: Record<Mode, number>): Server {
  return createServer((req: IncomingMessage, res: ServerResponse) => {
    const [, mode = '', ...rest] = (req.url ?? '').split('/');
    const path = `/${rest.join('/')}`;
    if (!(MODES as readonly string[]).includes(mode)) {
      res.statusCode = 404;
      res.end();
      return;
    }
    hits[mode as Mode] += 1;
    const url = new URL(path, 'http://x');
    const after = Number(url.searchParams.get('after') ?? 0);
    void (async () => {
      switch (mode as Mode) {
        case 'tampered': {
          if (url.pathname === '/api/v0/sync/messages') {
            const page = await relay(upstream(), path);
            const extra = madeUp.tampered.map((m, i) => ({ seq: page.last_seq + 1 + i, item_hash: m.item_hash, status: 'processed' }));
            const messages = after >= page.last_seq ? extra.filter((e) => e.seq > after) : [...page.messages, ...extra];
            return json(res, { messages, next: messages.at(-1)?.seq ?? after, last_seq: page.last_seq + extra.length });
          }
          const asked = new Set((url.searchParams.get('hashes') ?? '').split(','));
          const real = await relay(upstream(), path);
          const altered = real.messages.map((m: { item_content: string }) => ({ ...m, item_content: m.item_content.replace('"sync-test"', '"sync-tesT"') }));
          return json(res, { messages: [...altered, ...madeUp.tampered.filter((m) => asked.has(m.item_hash))], forgotten: [], missing: [] });
        }
        case 'badsig': {
          if (url.pathname === '/api/v0/sync/messages') {
            const messages = madeUp.badsig.map((m, i) => ({ seq: i + 1, item_hash: m.item_hash, status: 'processed' })).filter((e) => e.seq > after);
            return json(res, { messages, next: messages.at(-1)?.seq ?? after, last_seq: madeUp.badsig.length });
          }
          const asked = new Set((url.searchParams.get('hashes') ?? '').split(','));
          return json(res, { messages: madeUp.badsig.filter((m) => asked.has(m.item_hash)), forgotten: [], missing: [] });
        }
        case 'huge': {
          if (hits.huge % 2 === 1) {
            // 64 MiB of a never-ending JSON array, streamed: the victim must stop reading early.
            res.writeHead(200, { 'content-type': 'application/json' });
            res.write('{"messages":[');
            const entry = JSON.stringify({ seq: 1, item_hash: sha256Hex('x'), status: 'processed' });
            const chunk = `${entry},`.repeat(1000);
            let sent = 0;
            const pump = (): void => {
              while (sent < 64 * 1024 * 1024) {
                sent += chunk.length;
                if (!res.write(chunk)) return void res.once('drain', pump);
              }
              res.end(`${entry}],"next":1,"last_seq":1}`);
            };
            res.on('error', () => undefined);
            return pump();
          }
          // More entries than any limit asked.
          const messages = Array.from({ length: 6000 }, (_, i) => ({ seq: after + i + 1, item_hash: sha256Hex(`huge${i}`), status: 'processed' }));
          return json(res, { messages, next: after + 6000, last_seq: after + 6000 });
        }
        case 'backwards': {
          if (url.pathname === '/api/v0/sync/messages') {
            const page = await relay(upstream(), '/api/v0/sync/messages?after=0&limit=3');
            return json(res, { ...page, next: page.messages.at(-1)?.seq ?? 0 });
          }
          return json(res, await relay(upstream(), path));
        }
        case 'refuses': {
          if (url.pathname === '/api/v0/sync/messages') {
            const messages = madeUp.refused.map((hash, i) => ({ seq: i + 1, item_hash: hash, status: 'processed' })).filter((e) => e.seq > after);
            return json(res, { messages, next: messages.at(-1)?.seq ?? after, last_seq: madeUp.refused.length });
          }
          // Every other answer says nothing of them: missing, or an empty batch.
          if (hits.refuses % 2 === 0) return json(res, { messages: [], forgotten: [], missing: (url.searchParams.get('hashes') ?? '').split(',') });
          return json(res, { messages: [], forgotten: [], missing: [] });
        }
      }
    })().catch(() => {
      res.statusCode = 500;
      res.end();
    });
  });
}

describe('security: a lying sync peer stores nothing and is backed off', () => {
  const nodes: NetNode[] = [];
  let server: Server;
  let base = '';
  const hits: Record<Mode, number> = { tampered: 0, badsig: 0, huge: 0, backwards: 0, refuses: 0 };
  let honest: NetNode;
  let victim: NetNode;

  before(async () => {
    honest = await netNode();
    victim = await netNode();
    nodes.push(honest, victim);
    server = hostile(() => honest.url, hits);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(async () => {
    for (const n of nodes) await n.dispose();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('keeps every invalid message out, syncs the honest peer intact, and bans the liars', async () => {
    await honest.start();
    const real = posts(honestAuthor, CHANNEL, 40, 'real');
    await submitAll(honest.url, real);
    await eventually('the honest CCN to process its messages', 60_000, async () => [...(await statuses(honest.url, CHANNEL)).values()].filter((s) => s === 'processed').length === 40);

    const peers = MODES.map((m) => `${base}/${m}`);
    await victim.start({ syncPeers: [...peers, honest.url], syncBatchSize: 10, syncMaxResponseBytes: 1024 * 1024, syncBanSeconds: 120 });

    const onHonest = await statuses(honest.url, CHANNEL);
    await eventually('the victim to hold every honest message', 60_000, async () => sameMaps(await statuses(victim.url, CHANNEL), onHonest));
    // Intact: the content is the original, not the altered one.
    for (const m of real.slice(0, 5)) {
      const body = (await (await fetch(`${victim.url}/api/v0/messages/${m.item_hash}`)).json()) as { message: { item_content: string } };
      assert.equal(body.message.item_content, m.item_content);
    }

    const view: SyncView = await eventually('every hostile peer to be banned', 90_000, async () => {
      const v = await syncStatus(victim.url);
      return peers.every((p) => peerOf(v, p).banned) ? v : undefined;
    }, () => syncStatus(victim.url));
    const offences = (mode: Mode): Record<string, number> => peerOf(view, `${base}/${mode}`).offences;
    assert.ok((offences('tampered').invalid ?? 0) >= 10, JSON.stringify(offences('tampered')));
    assert.ok((offences('badsig').invalid ?? 0) >= 10, JSON.stringify(offences('badsig')));
    assert.ok((offences('huge')['too-large'] ?? 0) + (offences('huge').lie ?? 0) >= 4, JSON.stringify(offences('huge')));
    assert.ok((offences('backwards').lie ?? 0) >= 1, JSON.stringify(offences('backwards')));
    assert.ok((offences('refuses').lie ?? 0) >= 1, JSON.stringify(offences('refuses')));
    for (const p of peers) assert.ok(peerOf(view, p).score < 0, p);
    const honestView = peerOf(view, honest.url);
    assert.equal(honestView.banned, false);
    assert.equal(honestView.lag, 0);

    // Nothing invalid stored: the victim's channel holds exactly the honest set, and no made-up hash.
    assert.ok(sameMaps(await statuses(victim.url, CHANNEL), onHonest));
    for (const hash of [...madeUp.tampered.map((m) => m.item_hash), ...madeUp.badsig.map((m) => m.item_hash), ...madeUp.refused]) {
      assert.equal((await fetch(`${victim.url}/api/v0/messages/${hash}`)).status, 404, hash);
    }

    // Banned: no request reaches the liars for a while, though rounds keep running (interval 0.5 s).
    const before = { ...hits };
    await new Promise((r) => setTimeout(r, 4000));
    assert.deepEqual(hits, before, 'banned peers are not asked');
    const later = peerOf(await syncStatus(victim.url), honest.url);
    assert.ok(later.pages > honestView.pages, 'the honest peer is still pulled');
  });
});
