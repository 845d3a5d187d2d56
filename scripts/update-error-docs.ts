// Rewrites the "## Errors" table of the CCN and CRN READMEs from their error tables (run after
// adding a code; src/errors.test.ts of each package fails until the README says the same).
//   npx tsx scripts/update-error-docs.ts
import { readFileSync, writeFileSync } from 'node:fs';
import { errorTableMarkdown, FRAMEWORK_ERRORS, type ErrorTable } from '@aleph-nodes/service';
import { CCN_ERRORS } from '../packages/ccn/src/errors.ts';
import { CRN_ERRORS } from '../packages/crn/src/errors.ts';

const surfaces: [string, ErrorTable<string>][] = [
  ['packages/ccn/README.md', CCN_ERRORS],
  ['packages/crn/README.md', CRN_ERRORS],
];

for (const [path, table] of surfaces) {
  const file = new URL(`../${path}`, import.meta.url);
  const text = readFileSync(file, 'utf8');
  const start = text.search(/^## Errors\s*$/m);
  if (start < 0) throw new Error(`${path}: no "## Errors" section`);
  const lines = text.slice(start).split('\n');
  const first = lines.findIndex((l) => l.startsWith('| Code |'));
  let last = first;
  while (last + 1 < lines.length && lines[last + 1]?.startsWith('|')) last += 1;
  if (first < 0) throw new Error(`${path}: the Errors section has no table`);
  lines.splice(first, last - first + 1, errorTableMarkdown(table, FRAMEWORK_ERRORS));
  writeFileSync(file, text.slice(0, start) + lines.join('\n'));
  console.log(`${path}: ${Object.keys(table.specs).length} codes`);
}
