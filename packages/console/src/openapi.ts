/**
 * OpenAPI 3.1 documents of the nodes' HTTP APIs. The list of operations is what the Fastify app
 * really registered (an `onRoute` hook, so no route is forgotten or invented); the request
 * schemas are the very zod schemas the routes validate with, converted by `z.toJSONSchema`
 * (JSON Schema 2020-12, the dialect of OpenAPI 3.1). A route that parses its input by hand is
 * listed with its path parameters and the surface's error shape.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';

export interface RouteDoc {
  summary: string;
  description?: string;
  tags?: string[];
  /** A zod object: each key one query parameter. */
  query?: z.ZodType;
  body?: z.ZodType;
  /** `application/json` unless said. */
  bodyType?: string;
  /** Success answer schema, when the route has one. */
  response?: z.ZodType;
}

/** `"GET /api/v0/messages/:hash"` (the Fastify pattern) → its documentation. */
export type RouteDocs = Readonly<Record<string, RouteDoc>>;

export interface ApiInfo {
  title: string;
  version: string;
  description: string;
  errorCodes: readonly string[];
}

const OPENAPI_METHODS = new Set(['GET', 'PUT', 'POST', 'DELETE', 'PATCH']);

interface SeenRoute {
  method: string;
  url: string;
  websocket: boolean;
}

type Json = Record<string, unknown>;

function jsonSchema(schema: z.ZodType): Json {
  const out = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as Json;
  delete out.$schema;
  return out;
}

/** `/vm/:ref/*` → `/vm/{ref}/{path}` and the names of its path parameters. */
function openapiPath(url: string): { path: string; params: string[] } {
  const params: string[] = [];
  const path = url
    .split('/')
    .map((seg) => {
      if (seg.startsWith(':')) {
        const name = seg.slice(1).replace(/\(.*$/, '');
        params.push(name);
        return `{${name}}`;
      }
      if (seg === '*') {
        params.push('path');
        return '{path}';
      }
      return seg;
    })
    .join('/');
  return { path, params };
}

const ERROR_BODY = (codes: readonly string[]): Json => ({
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string', enum: [...codes] }, message: { type: 'string' }, details: {} },
    },
  },
});

/** Records every route `app` registers from now on (call before the routes are added). */
export function collectRoutes(app: FastifyInstance): () => readonly SeenRoute[] {
  const seen: SeenRoute[] = [];
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) {
      // The methods OpenAPI names (Fastify's `all` also lists QUERY, PROPFIND, ...); HEAD and
      // OPTIONS are implied by GET and CORS.
      if (!OPENAPI_METHODS.has(method)) continue;
      seen.push({ method, url: route.url, websocket: Boolean((route as { websocket?: boolean }).websocket) });
    }
  });
  return () => seen;
}

export function openapiDocument(info: ApiInfo, routes: readonly SeenRoute[], docs: RouteDocs): Json {
  const paths: Record<string, Record<string, Json>> = {};
  const seenIds = new Set<string>();
  for (const route of routes) {
    const key = `${route.method} ${route.url}`;
    const doc = docs[key];
    const { path, params } = openapiPath(route.url);
    const method = route.method.toLowerCase();
    if (paths[path]?.[method]) continue;
    const parameters: Json[] = params.map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } }));
    if (doc?.query) {
      const q = jsonSchema(doc.query);
      const required = new Set((q.required as string[] | undefined) ?? []);
      for (const [name, schema] of Object.entries((q.properties as Record<string, Json> | undefined) ?? {})) {
        parameters.push({ name, in: 'query', required: required.has(name), schema });
      }
    }
    let id = `${method}_${path.replace(/[^A-Za-z0-9]+/g, '_').replace(/^_|_$/g, '')}`;
    while (seenIds.has(id)) id += '_';
    seenIds.add(id);
    const operation: Json = {
      operationId: id,
      summary: doc?.summary ?? `${route.method} ${path}`,
      ...(doc?.description ? { description: doc.description } : {}),
      tags: doc?.tags ?? [path.split('/').filter(Boolean).slice(0, path.startsWith('/api/') ? 3 : 1).join('/') || 'root'],
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(doc?.body ? { requestBody: { required: true, content: { [doc.bodyType ?? 'application/json']: { schema: jsonSchema(doc.body) } } } } : {}),
      responses: {
        [route.websocket ? '101' : '200']: {
          description: route.websocket ? 'WebSocket upgrade: the stream of frames' : 'Success',
          ...(doc?.response ? { content: { 'application/json': { schema: jsonSchema(doc.response) } } } : {}),
        },
        '4XX': { description: 'Refused: the request is invalid, unknown or not allowed', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
      },
    };
    (paths[path] ??= {})[method] = operation;
  }
  const sorted = Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b)));
  return {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    info: { title: info.title, version: info.version, description: info.description },
    paths: sorted,
    components: { schemas: { Error: ERROR_BODY(info.errorCodes) } },
  };
}

/**
 * Wires `/openapi.json` into `app`: call it before the other routes are registered; the document
 * is built once, on the first request, from every route registered by then.
 */
export function openapiRoutes(app: FastifyInstance, info: ApiInfo, docs: RouteDocs, constraints?: { host: RegExp }): void {
  const routes = collectRoutes(app);
  let cached: string | undefined;
  app.get('/openapi.json', constraints ? { constraints } : {}, async (_request, reply) => {
    cached ??= JSON.stringify(openapiDocument(info, routes(), docs));
    return reply.type('application/json; charset=utf-8').header('access-control-allow-origin', '*').send(cached);
  });
}
