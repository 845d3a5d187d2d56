#!/usr/bin/env node
// The bench-style fuzzing run: every `*.fuzz.test.ts` with FUZZ_RUNS cases per property
// (default 10,000; the test suite runs the same files with 500).
//   npm run fuzz [-- --runs N] [FILE...]
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const runsAt = args.indexOf('--runs');
const runs = runsAt >= 0 ? Number(args[runsAt + 1]) : 10_000;
if (!Number.isInteger(runs) || runs < 1) {
  console.error('fuzz: --runs needs a positive integer');
  process.exit(2);
}
const explicit = args.filter((a, i) => !a.startsWith('--') && !(runsAt >= 0 && i === runsAt + 1));

function collect(dir, out = []) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) collect(path, out);
    else if (name.endsWith('.fuzz.test.ts')) out.push(relative(root, path));
  }
  return out;
}

const files = explicit.length > 0 ? explicit : [...collect(join(root, 'packages')), ...collect(join(root, 'test'))].sort();
if (files.length === 0) {
  console.error('fuzz: no *.fuzz.test.ts files found');
  process.exit(1);
}
console.log(`fuzz: ${files.length} files, ${runs} cases per property`);
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-timeout=3600000', '--test-reporter=spec', ...files],
  { cwd: root, stdio: 'inherit', env: { ...process.env, NODE_ENV: 'test', FUZZ_RUNS: String(runs) } },
);
process.exit(result.status ?? 1);
