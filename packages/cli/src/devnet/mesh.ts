/**
 * Waits until every CCN hears every other one on the message topic (GET /api/v0/p2p/peers,
 * `subscribers`), so that the registrations published next reach all CCNs by gossip at once
 * instead of waiting for anti-entropy. Bounded: a mesh that does not form in time is reported
 * and the devnet goes on (the CCNs still converge by syncing).
 */
import type { Logger } from '@aleph-nodes/service';

async function subscribers(url: string): Promise<string[]> {
  const res = await fetch(`${url}/api/v0/p2p/peers`, { signal: AbortSignal.timeout(5_000) });
  if (!res.ok) return [];
  const body = (await res.json()) as { subscribers?: unknown };
  return Array.isArray(body.subscribers) ? body.subscribers.filter((s): s is string => typeof s === 'string') : [];
}

export async function waitForMesh(ccns: { url: string; peerId: string | null }[], timeoutMs: number, logger: Logger): Promise<boolean> {
  if (ccns.length < 2 || ccns.some((c) => c.peerId === null)) return false;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const missing: string[] = [];
    for (const ccn of ccns) {
      const heard = new Set(await subscribers(ccn.url).catch(() => []));
      for (const other of ccns) if (other !== ccn && !heard.has(other.peerId as string)) missing.push(`${ccn.url} does not hear ${other.url}`);
    }
    if (missing.length === 0) {
      logger.info('every CCN hears every other one on the message topic');
      return true;
    }
    if (Date.now() >= deadline) {
      logger.warn({ missing }, 'the CCNs did not all hear each other in time; they converge by syncing instead');
      return false;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}
