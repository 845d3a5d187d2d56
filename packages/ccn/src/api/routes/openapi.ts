/**
 * `GET /openapi.json`: the OpenAPI 3.1 document of this API, built from the routes the app
 * registered and the zod schemas they validate with (packages/console/src/openapi.ts). The docs
 * page that renders it is `/console/docs`. Register before every other route.
 */
import { EnvelopeSchema } from '@aleph-nodes/protocol';
import { openapiRoutes, type RouteDocs } from '@aleph-nodes/console/openapi';
import { FRAMEWORK_ERRORS } from '@aleph-nodes/service';
import type { FastifyInstance } from 'fastify';
import { CCN_ERRORS } from '../../errors.ts';
import type { ApiContext } from '../context.ts';
import { ProbesQuery } from './allocations.ts';
import { CrnListQuery } from './crn-list.ts';
import { PubsubBody, SubmitBody } from './messages-submit.ts';
import { EstimateBody } from './price.ts';

const MESSAGE_BODY = SubmitBody.extend({ message: EnvelopeSchema });

const DOCS: RouteDocs = {
  'POST /api/v0/messages': {
    summary: 'Submit a signed message',
    description: 'The message is checked (envelope, signature, content) before it is stored; `sync` waits until it is processed. 202 pending, 200 processed, 422 rejected.',
    body: MESSAGE_BODY,
  },
  'POST /api/v0/ipfs/pubsub/pub': { summary: 'Submit a message (legacy pubsub form)', body: PubsubBody },
  'POST /api/v0/p2p/pubsub/pub': { summary: 'Submit a message (legacy pubsub form)', body: PubsubBody },
  'POST /api/v0/price/estimate': { summary: 'Price an unsigned PROGRAM, INSTANCE or STORE message', body: EstimateBody },
  'POST /api/v0/price/estimate/instance': { summary: 'Price an unsigned INSTANCE message', body: EstimateBody },
  'GET /api/v0/allocations/probes': { summary: 'Recorded probes of the CRNs (scoring input)', query: ProbesQuery },
  'GET /api/v0/allocations': { summary: "This node's placements of persistent workloads, with reasons, and the linked CRNs' health" },
  'GET /api/v0/crns.json': { summary: "The CRN list clients choose from (crns-list's shape): the registry's CRNs with what each reported to this node's monitor", query: CrnListQuery },
  'GET /api/v0/nodes': { summary: 'The node registry (CCNs, CRNs), linked CRN health, ignored operations' },
  'GET /api/v0/nodes/operations/{hash}': { summary: 'What happened to one registry operation' },
  'GET /api/ws0/messages': { summary: 'Messages as they are processed (WebSocket), after `history` past ones' },
  'GET /api/v0/sync/status': { summary: 'Replication: the local sequence and each peer’s cursor and lag' },
  'GET /api/v0/p2p/peers': { summary: 'libp2p peers and their scores' },
  'GET /metrics': { summary: 'Prometheus metrics (text exposition format)' },
  'GET /metrics.json': { summary: "pyaleph's metrics as JSON" },
  'GET /openapi.json': { summary: 'This document' },
  'GET /console/*': { summary: 'The web console (HTML, scripts, styles)' },
};

export function openapiDocRoutes(app: FastifyInstance, ctx: ApiContext): void {
  openapiRoutes(
    app,
    {
      title: 'Core Channel Node API',
      version: ctx.version,
      description: 'Messages, files, aggregates and posts (the Aleph CCN reference API) and this implementation’s registry, allocation, replication and operator routes. Errors are `{"error": {"code", "message"}}`.',
      errorCodes: [...new Set([...Object.keys(CCN_ERRORS.specs), ...Object.keys(FRAMEWORK_ERRORS.specs)])].sort(),
    },
    // Docs keyed by the Fastify pattern of each route.
    Object.fromEntries(Object.entries(DOCS).map(([k, v]) => [k.replace(/\{(\w+)\}/g, ':$1'), v])),
  );
}
