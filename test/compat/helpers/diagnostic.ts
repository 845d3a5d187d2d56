/**
 * Checks of aleph's diagnostic program (aleph-vm `examples/example_fastapi`, unmodified in
 * test/fixtures/aleph-diagnostic) served by one of our CRNs, as the network's monitors see it:
 * its index through `/vm/{hash}/…`, and `/status/check/fastapi`, where every check that does not
 * need the public internet is true. A build machine has no public internet, so messages, dns,
 * ipv4, internet and get_a_message are false there and the route answers 503, as aleph-vm's does.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sha256Hex } from '@aleph-nodes/protocol';
import { DIAGNOSTIC_PROGRAM_DIR } from '../../../packages/cli/src/devnet/diagnostic-program.ts';
import { firstCall } from '../../guest/first-call.ts';

/** The fixture must stay upstream's bytes (its README lists them). */
const UPSTREAM_MAIN_PY_SHA256 = '77230fb9769d5258da8fb7a3e419b84afb5155292774de6b85bdcbe850cdb009';

export function assertUpstreamFixture(): void {
  assert.equal(sha256Hex(readFileSync(join(DIAGNOSTIC_PROGRAM_DIR, 'main.py'))), UPSTREAM_MAIN_PY_SHA256, 'the fixture is unmodified');
}

/** The index (booting the VM on the first call) and one platform route; returns seconds to the first answer. */
export async function assertDiagnosticAnswers(crnUrl: string, hash: string): Promise<number> {
  const started = Date.now();
  const res = await firstCall(`${crnUrl}/vm/${hash}/`);
  const seconds = (Date.now() - started) / 1000;
  assert.equal(res.status, 200, res.text);
  const body = JSON.parse(res.text) as { Example: string; endpoints: string[] };
  assert.equal(body.Example, 'example_fastapi');
  assert.ok(body.endpoints.includes('/cache/keys'));
  const os = await fetch(`${crnUrl}/vm/${hash}/platform/os`);
  assert.match(await os.text(), /bookworm/);
  return seconds;
}

/** `/status/check/fastapi` as aleph-vm answers it; returns the checks. */
export async function assertFastapiCheck(crnUrl: string): Promise<Record<string, boolean>> {
  const res = await fetch(`${crnUrl}/status/check/fastapi`);
  const body = (await res.json()) as Record<string, boolean>;
  assert.deepEqual(Object.keys(body), ['index', 'environ', 'messages', 'dns', 'ipv4', 'internet', 'cache', 'persistent_storage', 'error_handling', 'get_a_message', 'lifespan']);
  for (const key of ['index', 'environ', 'cache', 'persistent_storage', 'error_handling', 'lifespan']) assert.equal(body[key], true, `${key} check`);
  // Without internet, aleph-vm's required ipv4/internet/dns fail: 503, as there.
  assert.equal(res.status, body.ipv4 && body.internet && body.dns ? 200 : 503);
  return body;
}
