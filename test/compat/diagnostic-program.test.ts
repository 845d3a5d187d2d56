/**
 * aleph's diagnostic program (aleph-vm `examples/example_fastapi`, unmodified in
 * test/fixtures/aleph-diagnostic) on our CRN, as the devnet publishes it: the Python runtime and
 * the program (`main:app`, a 1 MiB persistent volume at /var/lib/example) on a real CCN, a CRN
 * with the microVM executor whose `checkFastapiVmId` names it. The program answers through
 * `/vm/{hash}/…`, and `/status/check/fastapi` (what the network's monitors probe) reports every
 * check that does not need the public internet true. The VM has no internet here (as on a
 * sandboxed build machine), so messages/dns/ipv4/internet/get_a_message are false and the route
 * answers 503, as aleph-vm's does without internet. One VM for the whole file.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ccnConfig, startCcn, type CcnNode } from '@aleph-nodes/ccn';
import { startCrn, type CrnConfig, type RunningCrn } from '@aleph-nodes/crn';
import { EthAccount, sha256Hex } from '@aleph-nodes/protocol';
import { silentLogger } from '@aleph-nodes/service';
import { publishDiagnosticProgram, DIAGNOSTIC_PROGRAM_DIR } from '../../packages/cli/src/devnet/diagnostic-program.ts';
import { storeFile } from '../../packages/cli/src/devnet/sample-program.ts';
import { OWNER_KEY } from '../crn/helpers/nodes.ts';
import { firstCall } from '../guest/first-call.ts';
import { guestImages, qemuProcesses } from '../guest/helpers.ts';

/** The fixture must stay upstream's bytes (its README lists them). */
const UPSTREAM_MAIN_PY_SHA256 = '77230fb9769d5258da8fb7a3e419b84afb5155292774de6b85bdcbe850cdb009';

describe("aleph's diagnostic program on our CRN (microvm executor)", () => {
  let ccn: CcnNode | undefined;
  let crn: RunningCrn | undefined;
  const dirs: string[] = [];
  let hash = '';

  before(async () => {
    assert.equal(sha256Hex(readFileSync(join(DIAGNOSTIC_PROGRAM_DIR, 'main.py'))), UPSTREAM_MAIN_PY_SHA256, 'the fixture is unmodified');
    const images = await guestImages();
    const runtimePath = images.runtimes.python;
    assert.ok(runtimePath, 'the image build made the Python runtime');
    const ccnDir = mkdtempSync(join(tmpdir(), 'diag-ccn-'));
    dirs.push(ccnDir);
    ccn = await startCcn(ccnConfig({ dataDir: ccnDir, port: 0, p2pPort: 0, logLevel: 'silent', paymentChecks: false, maxSignedUploadBytes: 1024 * 1024 * 1024 }), { logger: silentLogger() });
    const owner = EthAccount.fromPrivateKey(OWNER_KEY);
    const runtime = await storeFile(ccn.url, owner, new Uint8Array(readFileSync(runtimePath)), 'TEST');
    hash = await publishDiagnosticProgram(ccn.url, owner, { pythonRuntimeRef: runtime, internet: false, channel: 'TEST' });
    const crnDir = mkdtempSync(join(tmpdir(), 'diag-crn-'));
    dirs.push(crnDir);
    crn = await startCrn(
      { dataDir: crnDir, ccn: ccn.url, port: 0, logLevel: 'silent', executor: 'microvm', accelerator: 'tcg', startTimeoutSeconds: 600, capacityVcpus: 8, enforcePayments: false, checkFastapiVmId: hash } as CrnConfig,
      { logger: silentLogger() },
    );
  });

  after(async () => {
    await crn?.close({ stopPersistent: true });
    await ccn?.close();
    for (const dir of dirs) assert.equal(qemuProcesses(dir).length, 0, `no QEMU process of ${dir} left`);
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('answers through /vm/{hash}/ (its index)', async () => {
    const started = Date.now();
    const res = await firstCall(`${crn?.url}/vm/${hash}/`);
    const text = res.text;
    process.stderr.write(`# diagnostic program, boot to first answer: ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    assert.equal(res.status, 200, text);
    const body = JSON.parse(text) as { Example: string; endpoints: string[] };
    assert.equal(body.Example, 'example_fastapi');
    assert.ok(body.endpoints.includes('/cache/keys'));
    const os = await fetch(`${crn?.url}/vm/${hash}/platform/os`);
    assert.match(await os.text(), /bookworm/);
  });

  it('/status/config names it as CHECK_FASTAPI_VM_ID', async () => {
    const res = await fetch(`${crn?.url}/status/config`);
    const body = (await res.json()) as { references: { CHECK_FASTAPI_VM_ID: string } };
    assert.equal(body.references.CHECK_FASTAPI_VM_ID, hash);
  });

  it('/status/check/fastapi: every check without the public internet is true', async () => {
    const started = Date.now();
    const res = await fetch(`${crn?.url}/status/check/fastapi`);
    const body = (await res.json()) as Record<string, boolean>;
    process.stderr.write(`# /status/check/fastapi in ${((Date.now() - started) / 1000).toFixed(1)} s: ${JSON.stringify(body)}\n`);
    assert.deepEqual(Object.keys(body), ['index', 'environ', 'messages', 'dns', 'ipv4', 'internet', 'cache', 'persistent_storage', 'error_handling', 'get_a_message', 'lifespan']);
    for (const key of ['index', 'environ', 'cache', 'persistent_storage', 'error_handling', 'lifespan']) assert.equal(body[key], true, `${key} check`);
    // Without internet in the VM, aleph-vm's required ipv4/internet/dns fail: 503, as there.
    assert.equal(res.status, body.ipv4 && body.internet && body.dns ? 200 : 503);
  });
});
