/**
 * A CCN's libp2p peer id, read from the CCN itself: our CCN says it at GET /api/v0/p2p/peers
 * (`peer_id`); pyaleph publishes its multiaddresses, each ending in `/p2p/<peer id>`, at
 * GET /api/v0/info/public.json. A CCN without P2P has neither: the peer id is then null.
 */
const ID = '[1-9A-HJ-NP-Za-km-z]{32,128}|b[a-z2-7]{32,128}';
const PEER_ID = new RegExp(`/p2p/(${ID})$`);
const BARE_PEER_ID = new RegExp(`^(?:${ID})$`);

export function peerIdOfMultiaddress(multiaddress: string): string | null {
  return PEER_ID.exec(multiaddress)?.[1] ?? null;
}

async function reportedPeerId(ccnUrl: string): Promise<string | null> {
  const res = await fetch(`${ccnUrl}/api/v0/p2p/peers`, { signal: AbortSignal.timeout(5_000) });
  if (!res.ok) return null;
  const body = (await res.json()) as { peer_id?: unknown };
  return typeof body.peer_id === 'string' && BARE_PEER_ID.test(body.peer_id) ? body.peer_id : null;
}

async function publishedPeerId(ccnUrl: string): Promise<string | null> {
  const res = await fetch(`${ccnUrl}/api/v0/info/public.json`, { signal: AbortSignal.timeout(5_000) });
  if (!res.ok) return null;
  const body = (await res.json()) as { node_multi_addresses?: unknown };
  const list = Array.isArray(body.node_multi_addresses) ? body.node_multi_addresses : [];
  for (const entry of list) {
    const id = typeof entry === 'string' ? peerIdOfMultiaddress(entry) : null;
    if (id) return id;
  }
  return null;
}

/** Polls for up to `waitMs` (the P2P listener may start just after the HTTP API). */
export async function readPeerId(ccnUrl: string, waitMs: number): Promise<string | null> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const id = (await reportedPeerId(ccnUrl).catch(() => null)) ?? (await publishedPeerId(ccnUrl).catch(() => null));
    if (id || Date.now() >= deadline) return id;
    await new Promise((r) => setTimeout(r, 250));
  }
}
