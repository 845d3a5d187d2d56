/**
 * Error tables documented where operators and client authors read them: each HTTP surface's
 * README has an "## Errors" section with one row per code, and a unit test beside the table
 * compares the two (as Fastify's errors.test.js does), so neither drifts.
 */
import type { ErrorSpec, ErrorTable } from './http-errors.ts';

export interface DocumentedError {
  code: string;
  status: number;
  message: string;
}

/**
 * Every code of the tables in order, a code of an earlier table hiding the same code of a later
 * one (a surface's own table comes before FRAMEWORK_ERRORS and may redefine a code).
 */
function merged(tables: readonly ErrorTable<string>[]): [string, ErrorSpec][] {
  const out = new Map<string, ErrorSpec>();
  for (const t of tables) for (const [code, spec] of Object.entries(t.specs as Record<string, ErrorSpec>)) if (!out.has(code)) out.set(code, spec);
  return [...out];
}

/** The "## Errors" table of a README, rendered from the error tables (the surface's own first, then the framework's). */
export function errorTableMarkdown(...tables: readonly ErrorTable<string>[]): string {
  const rows = merged(tables).map(([code, spec]) => `| \`${code}\` | ${spec.status} | ${spec.message.replaceAll('|', '\\|')} |`);
  return ['| Code | HTTP status | Message |', '|---|---|---|', ...rows].join('\n');
}

/** The rows of a README's "## Errors" section (code, status, message), in order. */
export function documentedErrors(readme: string): DocumentedError[] {
  const start = readme.search(/^## Errors\s*$/m);
  if (start < 0) return [];
  const rest = readme.slice(start).split('\n').slice(1);
  const end = rest.findIndex((line) => line.startsWith('## '));
  const out: DocumentedError[] = [];
  for (const line of end < 0 ? rest : rest.slice(0, end)) {
    const m = /^\|\s*`([A-Z0-9_]+)`\s*\|\s*(\d{3})\s*\|\s*(.*?)\s*\|\s*$/.exec(line);
    if (m) out.push({ code: m[1] as string, status: Number(m[2]), message: (m[3] as string).replaceAll('\\|', '|') });
  }
  return out;
}

/** What differs between the documented rows and the tables: one line per difference. */
export function errorDocDrift(readme: string, ...tables: readonly ErrorTable<string>[]): string[] {
  const documented = new Map(documentedErrors(readme).map((d) => [d.code, d]));
  const drift: string[] = [];
  const inTables = new Set<string>();
  for (const [code, spec] of merged(tables)) {
    inTables.add(code);
    const doc = documented.get(code);
    if (!doc) drift.push(`${code} is not documented`);
    else if (doc.status !== spec.status || doc.message !== spec.message) drift.push(`${code} is documented as ${doc.status} "${doc.message}", the table says ${spec.status} "${spec.message}"`);
  }
  for (const code of documented.keys()) if (!inTables.has(code)) drift.push(`${code} is documented but not in the table`);
  return drift;
}
