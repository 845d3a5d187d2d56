/**
 * The Python runtime end to end: a real CCN holds the runtime image (the guest image build's
 * `runtimes.python`), a FastAPI program (`entrypoint: "main:app"`, zip) and a zip volume of extra
 * packages mounted at /opt/packages; a CRN with the microVM executor serves the program through
 * `/vm/{hash}/…` from inside one QEMU microVM (TCG here). What aleph programs read is checked
 * from inside the VM: the lifespan startup ran before the first request, the ALEPH_* variables
 * point at the guest API socket, the SDK's VmCache works against it, /opt/packages imports, an
 * exception gives 500 with the traceback, and the OS is Debian 12 with CPython 3.11.
 * One VM for the whole file; nothing of this CRN is left behind.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ccnConfig, startCcn, type CcnNode } from '@aleph-nodes/ccn';
import { startCrn, type CrnConfig, type RunningCrn } from '@aleph-nodes/crn';
import { buildInlineMessage, EthAccount, hashToHostLabel } from '@aleph-nodes/protocol';
import { silentLogger } from '@aleph-nodes/service';
import { publishMessage } from '../../packages/cli/src/common/ccn-client.ts';
import { buildZip, storeFile } from '../../packages/cli/src/devnet/sample-program.ts';
import { OWNER_KEY } from '../crn/helpers/nodes.ts';
import { firstCall } from './first-call.ts';
import { guestImages, qemuProcesses } from './helpers.ts';

const MAIN_PY = `
import os, sys
from fastapi import FastAPI
from aleph.sdk.vm.cache import VmCache
import extra_package

app = FastAPI()
state = {"started": False, "cache": None}

@app.on_event("startup")
async def startup():
    state["started"] = True
    state["cache"] = VmCache()

@app.get("/")
async def index():
    with open("/etc/os-release") as f:
        os_release = f.read()
    return {
        "python": sys.version.split()[0],
        "lifespan": state["started"],
        "extra": extra_package.VALUE,
        "os": os_release,
        "env": {k: v for k, v in os.environ.items() if k.startswith("ALEPH_") or k in ("PYTHONPATH", "GREETING")},
    }

@app.get("/cache")
async def cache_roundtrip():
    cache = state["cache"]
    stored = await cache.set("k1", "v1")
    value = await cache.get("k1")
    return {"set": stored, "get": value.decode(), "keys": await cache.keys("k*"), "missing": await cache.get("nope")}

@app.get("/raise")
def boom():
    raise RuntimeError("boom from the program")
`;

const EXTRA_PACKAGE = 'VALUE = "imported from /opt/packages"\n';

describe('Python runtime (microvm executor): an ASGI program served through /vm/{hash}', () => {
  let ccn: CcnNode | undefined;
  let crn: RunningCrn | undefined;
  const dirs: string[] = [];
  let hash = '';

  before(async () => {
    const images = await guestImages();
    const runtimePath = images.runtimes.python;
    assert.ok(runtimePath, 'the image build made the Python runtime');
    const ccnDir = mkdtempSync(join(tmpdir(), 'pyrt-ccn-'));
    dirs.push(ccnDir);
    ccn = await startCcn(ccnConfig({ dataDir: ccnDir, port: 0, p2pPort: 0, logLevel: 'silent', paymentChecks: false, maxSignedUploadBytes: 1024 * 1024 * 1024 }), { logger: silentLogger() });
    const crnDir = mkdtempSync(join(tmpdir(), 'pyrt-crn-'));
    dirs.push(crnDir);
    crn = await startCrn(
      { dataDir: crnDir, ccn: ccn.url, port: 0, logLevel: 'silent', executor: 'microvm', accelerator: 'tcg', startTimeoutSeconds: 600, capacityVcpus: 8, enforcePayments: false } as CrnConfig,
      { logger: silentLogger() },
    );
    const owner = EthAccount.fromPrivateKey(OWNER_KEY);
    const runtime = await storeFile(ccn.url, owner, new Uint8Array(readFileSync(runtimePath)), 'TEST');
    const code = await storeFile(ccn.url, owner, await buildZip({ 'main.py': MAIN_PY }), 'TEST');
    const packages = await storeFile(ccn.url, owner, await buildZip({ 'extra_package.py': EXTRA_PACKAGE }), 'TEST');
    const program = buildInlineMessage(owner, 'PROGRAM', {
      type: 'vm-function',
      allow_amend: false,
      on: { http: true, persistent: false },
      environment: { reproducible: false, internet: false, aleph_api: false, shared_cache: false },
      resources: { vcpus: 1, memory: 256, seconds: 30 },
      runtime: { ref: runtime, use_latest: false, comment: 'Python runtime' },
      volumes: [{ ref: packages, use_latest: false, mount: '/opt/packages' }],
      variables: { GREETING: 'hello' },
      code: { encoding: 'zip', entrypoint: 'main:app', ref: code, use_latest: false },
    }, { channel: 'TEST' });
    await publishMessage(ccn.url, program);
    hash = program.item_hash;
  });

  after(async () => {
    await crn?.close({ stopPersistent: true });
    await ccn?.close();
    for (const dir of dirs) assert.equal(qemuProcesses(dir).length, 0, `no QEMU process of ${dir} left`);
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('boots the program and answers with what aleph programs read', async () => {
    const started = Date.now();
    const res = await firstCall(`${crn?.url}/vm/${hash}/`);
    const text = res.text;
    process.stderr.write(`# boot to first answer: ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    assert.equal(res.status, 200, text);
    const body = JSON.parse(text) as { python: string; lifespan: boolean; extra: string; os: string; env: Record<string, string> };
    assert.match(body.python, /^3\.11\./);
    assert.match(body.os, /VERSION_CODENAME=bookworm/);
    assert.equal(body.lifespan, true, 'the ASGI startup event ran before the first request');
    assert.equal(body.extra, 'imported from /opt/packages');
    // The SDK adds ALEPH_CONFIG_HOME to the environment when it is imported: not ours to check.
    const { ALEPH_CONFIG_HOME: _sdkOwn, ...env } = body.env;
    assert.deepEqual(env, {
      ALEPH_INIT_VERSION: body.env.ALEPH_INIT_VERSION,
      ALEPH_API_HOST: 'http://localhost',
      ALEPH_API_UNIX_SOCKET: '/tmp/socat-socket',
      ALEPH_REMOTE_CRYPTO_HOST: 'http://localhost',
      ALEPH_REMOTE_CRYPTO_UNIX_SOCKET: '/tmp/socat-socket',
      ALEPH_ADDRESS_TO_USE: hashToHostLabel(hash),
      PYTHONPATH: '/opt/aleph/libs',
      GREETING: 'hello',
    });
  });

  it("the SDK's VmCache works against the guest API", async () => {
    const res = await fetch(`${crn?.url}/vm/${hash}/cache`);
    const text = await res.text();
    assert.equal(res.status, 200, text);
    assert.deepEqual(JSON.parse(text), { set: true, get: 'v1', keys: ['k1'], missing: null });
  });

  it('an exception in the program is a 500 with its traceback, and the program keeps serving', async () => {
    const res = await fetch(`${crn?.url}/vm/${hash}/raise`);
    const text = await res.text();
    assert.equal(res.status, 500);
    assert.match(text, /Traceback/);
    assert.match(text, /RuntimeError: boom from the program/);
    const again = await fetch(`${crn?.url}/vm/${hash}/`);
    assert.equal(again.status, 200, await again.text());
  });
});
