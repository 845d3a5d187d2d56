/**
 * `GET /openapi.json`: the OpenAPI 3.1 document of the CRN API, built from the routes the app
 * registered and the zod schemas they validate with (packages/console/src/openapi.ts); the docs
 * page is `/console/docs`. Only on the node's own host: a program's host keeps its own
 * `/openapi.json` (host routing). Register before every other route.
 */
import { AllocationNotifySchema, AllocationRequestSchema } from '@aleph-nodes/protocol';
import { openapiRoutes, type RouteDocs } from '@aleph-nodes/console/openapi';
import { FRAMEWORK_ERRORS } from '@aleph-nodes/service';
import type { FastifyInstance } from 'fastify';
import { CRN_ERRORS } from '../../errors.ts';
import type { ApiContext } from '../context.ts';
import { nodeHostConstraint } from '../node-host.ts';

const DOCS: RouteDocs = {
  'POST /control/allocations': { summary: 'The scheduler pushes the persistent workloads this node must run (signed by the allocation signer)', body: AllocationRequestSchema },
  'POST /control/allocation/notify': { summary: 'Start an instance paid pay-as-you-go or with credits', body: AllocationNotifySchema },
  'GET /about/usage/system': { summary: 'Capacity and usage (the monitors and schedulers read it)' },
  'GET /v2/about/executions/list': { summary: 'Executions with state, networking and payment verdict' },
  'GET /about/executions/records': { summary: 'Execution records (owner, resources, times)' },
  'GET /about/login': { summary: 'Operator login: `?token=` the node’s login token sets the operator cookie' },
  'GET /about/config': { summary: 'The node settings (operator)' },
  'GET /about/executions/details': { summary: 'Live execution details (operator)' },
  'GET /about/executions/logs': { summary: 'Recent log lines of one execution, `?ref=` (operator)' },
  'GET /control/machine/:ref/logs': { summary: 'Recent log lines (the owner, signed request)' },
  'GET /control/machine/:ref/stream_logs': { summary: 'Log lines as they come (the owner, WebSocket)' },
  'GET /status/config': { summary: 'Public configuration (version, executor, payment receiver)' },
  'GET /metrics': { summary: 'Prometheus metrics (text exposition format)' },
  'GET /console/api/usage': { summary: 'Usage samples of the last hour (the console charts)' },
  'GET /console/*': { summary: 'The web console (HTML, scripts, styles)' },
  'GET /openapi.json': { summary: 'This document' },
};

export function openapiDocRoutes(app: FastifyInstance, ctx: ApiContext): void {
  openapiRoutes(
    app,
    {
      title: 'Compute Resource Node API',
      version: ctx.config.serverVersion,
      description: 'The aleph-vm compatible API (about, status, control, programs under /vm/{ref} and their own host names) and this implementation’s operator routes. Errors are `{"error": {"code", "message"}}`.',
      errorCodes: [...new Set([...Object.keys(CRN_ERRORS.specs), ...Object.keys(FRAMEWORK_ERRORS.specs)])].sort(),
    },
    DOCS,
    nodeHostConstraint(ctx.config.domain),
  );
}
