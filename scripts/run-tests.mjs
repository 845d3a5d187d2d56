#!/usr/bin/env node
// Runs the test suite with node's built-in runner (TypeScript through tsx).
//   node scripts/run-tests.mjs            unit tests beside the code, then integration tests in test/
//   node scripts/run-tests.mjs --unit     unit tests only
//   node scripts/run-tests.mjs FILE...    the given files only
// Node 20's runner does not expand globs itself, so the files are collected here.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const unitOnly = args.includes('--unit');
const explicit = args.filter((a) => !a.startsWith('--'));

function collect(dir, out = []) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) collect(path, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, path));
  }
  return out;
}

const files = explicit.length > 0
  ? explicit
  : [...collect(join(root, 'packages')), ...(unitOnly ? [] : collect(join(root, 'test')))].sort();

if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}

// A hung test fails after 10 minutes instead of holding the whole run.
// Integration tests boot real processes and VMs: run files one at a time so they do not
// compete for the two cores of a build machine and time out spuriously.
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-timeout=600000', '--test-reporter=spec', '--test-reporter-destination=stdout',
    '--test-reporter=./scripts/test-times-reporter.mjs', '--test-reporter-destination=stdout', ...files],
  { cwd: root, stdio: 'inherit', env: { ...process.env, NODE_ENV: 'test' } },
);
process.exit(result.status ?? 1);
