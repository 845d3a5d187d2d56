/**
 * `GET /api/v0/crns.json[?filter_inactive=true]`: the CRN list Aleph's clients choose a node from
 * (the Python SDK's `CRN_LIST_URL`, settable as `ALEPH_CRN_LIST_URL`), in the shape of upstream's
 * crns-list service (protocol crn-list.ts, built by registry/crn-list.ts). `filter_inactive=true`
 * leaves out the CRNs with an `inactive_since`, as upstream.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { CRN_LIST_PATH, type CrnList } from '@aleph-nodes/protocol';
import { CCN_ERRORS } from '../../errors.ts';
import { buildCrnList } from '../../registry/crn-list.ts';
import type { RegistryService } from '../../registry/registry-service.ts';
import type { ApiContext } from '../context.ts';

export interface CrnListDeps {
  registry: Pick<RegistryService, 'snapshot'>;
  network: ApiContext['network'];
}

// The spellings of a boolean upstream's service (FastAPI) accepts.
const TRUE = ['true', '1', 'yes', 'on'];
export const CrnListQuery = z.object({ filter_inactive: z.enum([...TRUE, 'false', '0', 'no', 'off']).optional() });

export async function crnListRoutes(app: FastifyInstance, deps: CrnListDeps): Promise<void> {
  app.get(CRN_LIST_PATH, async (request): Promise<CrnList> => {
    const query = CrnListQuery.safeParse(request.query);
    if (!query.success) throw CCN_ERRORS.error('INVALID_PARAMETER', 'filter_inactive must be a boolean');
    const { value } = await deps.registry.snapshot();
    const monitor = deps.network?.monitor;
    return buildCrnList(value.resource_nodes, (hash) => monitor?.status(hash), TRUE.includes(query.data.filter_inactive ?? 'false'));
  });
}
