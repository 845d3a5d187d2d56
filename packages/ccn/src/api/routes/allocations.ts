/**
 * `GET /api/v0/allocations` (ours; the reference CCN has no scheduler): where each persistent
 * workload runs and why, what each linked CRN was pushed, and each CRN's health as the monitor
 * sees it. `GET /api/v0/allocations/probes` lists the recorded probes (scoring reads them).
 * With liveness on, the network routes of the scheduler too (network/liveness-routes.ts).
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { CCN_ERRORS } from '../../errors.ts';
import { livenessRoutes } from '../../network/liveness-routes.ts';
import type { Stores } from '../../stores.ts';
import type { CcnConfig } from '../../config.ts';
import type { RegistryService } from '../../registry/registry-service.ts';
import type { ApiContext } from '../context.ts';

export const ProbesQuery = z.strictObject({
  node_hash: z.string().max(128).optional(),
  from: z.coerce.number().optional(),
  to: z.coerce.number().optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(1000),
});

/** What the allocation routes read: the scheduler's decisions, the probes, and the network parts when they run. */
export interface AllocationsDeps {
  stores: Pick<Stores, 'allocations' | 'probes'>;
  registry: RegistryService;
  config: Pick<CcnConfig, 'schedulerEnabled'>;
  network: ApiContext['network'];
  clock(): number;
}

export async function allocationsRoutes(app: FastifyInstance, deps: AllocationsDeps): Promise<void> {
  if (deps.network?.liveness) livenessRoutes(app, { liveness: deps.network.liveness, scheduler: deps.network.scheduler, registry: deps.registry, clock: () => deps.clock() });
  app.get('/api/v0/allocations', async () => {
    const network = deps.network;
    const rows = await deps.stores.allocations.list();
    const crns = (network?.scheduler.crns() ?? []).map((c) => {
      const health = network?.monitor.status(c.hash);
      return {
        hash: c.hash,
        url: c.url,
        linked: c.linked,
        health: health?.health ?? 'unknown',
        consecutive_failures: health?.consecutiveFailures ?? 0,
        down_since: health?.downSince ?? null,
        last_probe_at: health?.lastRoundAt ?? null,
        last_errors: health?.lastErrors ?? [],
        version: health?.version ?? null,
        capacity: health?.capacity
          ? {
              cpu_count: health.capacity.cpuCount,
              memory_total_mib: health.capacity.totalMemoryMib,
              memory_available_mib: health.capacity.availableMemoryMib,
              disk_available_mib: health.capacity.availableDiskMib,
              architecture: health.capacity.architecture,
              vendor: health.capacity.vendor,
            }
          : null,
        no_more_work: c.shortfall,
        desired: c.push?.desired ?? { persistent_vms: [], instances: [] },
        push: c.push
          ? {
              state: c.push.state,
              delivered: c.push.delivered,
              failures: c.push.failures,
              last_error: c.push.lastError,
              last_delivered_at: c.push.lastDeliveredAt,
              next_retry_at: c.push.nextRetryAt,
            }
          : null,
      };
    });
    return {
      scheduler_enabled: deps.config.schedulerEnabled,
      node_hash: network?.scheduler.nodeHash ?? null,
      allocations: rows.map((r) => ({
        item_hash: r.item_hash,
        type: r.type,
        crn: r.crn_hash,
        reason: r.reason,
        previous_crn: r.previous_crn_hash,
        decided_at: r.decided_at,
        push_status: r.push_status,
      })),
      crns,
    };
  });

  app.get('/api/v0/allocations/probes', async (request) => {
    const parsed = ProbesQuery.safeParse(request.query);
    if (!parsed.success) throw CCN_ERRORS.error('INVALID_PARAMETER', parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    const q = parsed.data;
    const rows = await deps.stores.probes.list({
      ...(q.node_hash ? { nodeHash: q.node_hash } : {}),
      ...(q.from !== undefined ? { from: q.from } : {}),
      ...(q.to !== undefined ? { to: q.to } : {}),
      limit: q.limit,
    });
    return { probes: rows.map((r) => ({ ...r, ok: r.ok === 1 })) };
  });
}
