/**
 * GET /api/v0/p2p/peers (ours, for operators and tests): this node's peer id and addresses, the
 * peers connected with their gossipsub score and the verdicts on what each sent, the peers known
 * from configuration, registry and announcements, the dial targets and the bans. The CCN has no
 * Prometheus registry: the verdict counters are served here.
 */
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../api/context.ts';

export async function p2pRoutes(app: FastifyInstance, ctx: Pick<ApiContext, 'p2p'>): Promise<void> {
  app.get('/api/v0/p2p/peers', async () => {
    const peering = ctx.p2p?.();
    if (!peering) return { enabled: false, peer_id: null, listen: [], connected: [], known: [], peers: [], banned: [], verdicts: {} };
    return peering.status();
  });
}
