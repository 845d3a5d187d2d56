/**
 * Fuzz material for the CCN: the messages the official SDK really sent (the captured request
 * vectors of packages/protocol), and mutations of JSON documents (a value replaced, removed or
 * added at any path) as fast-check arbitraries.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';

const VECTORS = fileURLToPath(new URL('../../../protocol/vectors/sdk-captures/', import.meta.url));
/** The public test key the vectors were signed with (README of the vectors). Worth nothing. */
export const SDK_TEST_KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';

export interface SeedMessage {
  message: Record<string, unknown>;
  content: Record<string, unknown>;
}

/** Every inline message in the SDK captures, with its parsed content. */
export function sdkMessages(): SeedMessage[] {
  const out: SeedMessage[] = [];
  for (const name of readdirSync(VECTORS).filter((n) => n.endsWith('.json')).sort()) {
    const doc = JSON.parse(readFileSync(VECTORS + name, 'utf8')) as { requests?: unknown[] };
    for (const req of doc.requests ?? []) {
      const r = req as { body_json?: { message?: unknown }; multipart?: { json?: { message?: unknown } }[] };
      const candidates = [r.body_json?.message, ...(r.multipart ?? []).map((p) => p.json?.message)];
      for (const m of candidates) {
        if (typeof m !== 'object' || m === null) continue;
        const message = m as Record<string, unknown>;
        if (typeof message.item_content !== 'string') continue;
        out.push({ message, content: JSON.parse(message.item_content) as Record<string, unknown> });
      }
    }
  }
  return out;
}

type Path = (string | number)[];

/** Paths of every value in a document (the root excluded), down to `maxDepth`. */
export function pathsOf(value: unknown, maxDepth = 6, prefix: Path = []): Path[] {
  if (prefix.length >= maxDepth || typeof value !== 'object' || value === null) return [];
  const entries: [string | number, unknown][] = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
  return entries.flatMap(([k, v]) => [[...prefix, k], ...pathsOf(v, maxDepth, [...prefix, k])]);
}

export type Mutation = { op: 'set'; pick: number; value: unknown } | { op: 'delete'; pick: number } | { op: 'add'; pick: number; key: string; value: unknown };

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('set' as const), pick: fc.nat(), value: fc.jsonValue({ maxDepth: 3 }) }),
  fc.record({ op: fc.constant('delete' as const), pick: fc.nat() }),
  fc.record({ op: fc.constant('add' as const), pick: fc.nat(), key: fc.string({ maxLength: 12 }), value: fc.jsonValue({ maxDepth: 3 }) }),
);

/** A copy of `doc` with the mutation applied at one of its paths (chosen by `pick`). */
export function mutate<T>(doc: T, m: Mutation): T {
  const copy = structuredClone(doc);
  const paths: Path[] = [[], ...pathsOf(copy)];
  const path = paths[m.pick % paths.length] as Path;
  if (path.length === 0) {
    if (m.op === 'set') return m.value as T;
    if (m.op === 'add' && typeof copy === 'object' && copy !== null && !Array.isArray(copy)) (copy as Record<string, unknown>)[m.key] = m.value;
    return copy;
  }
  let parent = copy as unknown as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
  const last = path[path.length - 1] as string | number;
  if (m.op === 'set') parent[last] = m.value;
  else if (m.op === 'delete') {
    if (Array.isArray(parent)) parent.splice(Number(last), 1);
    else delete parent[last];
  } else {
    const target = parent[last];
    if (typeof target === 'object' && target !== null && !Array.isArray(target)) (target as Record<string, unknown>)[m.key] = m.value;
    else parent[last] = { [m.key]: m.value };
  }
  return copy;
}
