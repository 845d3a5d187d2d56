/**
 * The console's built files (packages/console/dist): `npm test` builds them first (package.json);
 * a test file run alone builds them here when they are missing.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CONSOLE_DIST } from '@aleph-nodes/console';
import { REPO_ROOT } from '../helpers/process.ts';

export function ensureConsoleBuilt(): void {
  if (existsSync(join(CONSOLE_DIST, 'ccn.html'))) return;
  const res = spawnSync('npm', ['run', 'build:console'], { cwd: REPO_ROOT, encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`npm run build:console failed: ${res.stderr}${res.stdout}`);
}
