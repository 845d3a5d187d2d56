/**
 * End to end on the microVM executor: the official SDK publishes the Node.js runtime image and
 * a zip program to a real CCN; a CRN with `executor: microvm` serves `GET /vm/{hash}/` from
 * inside a QEMU microVM, so the program sees the guest kernel, not the host's. No QEMU process,
 * tap device or data directory of this CRN is left behind.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AuthenticatedAlephHttpClient } from '@aleph-sdk/client';
import { importAccountFromPrivateKey } from '@aleph-sdk/ethereum';
import { ItemType } from '@aleph-sdk/message';
import { startCrn, type CrnConfig, type RunningCrn } from '@aleph-nodes/crn';
import { buildImages } from '@aleph-nodes/guest/build';
import { silentLogger } from '@aleph-nodes/service';
import { OWNER_KEY, publishWith, startCcnForCrn } from '../crn/helpers/nodes.ts';
import { dirEntries, qemuProcesses } from './helpers.ts';

const PROGRAM = `
import http from 'node:http';
import { release } from 'node:os';
http.createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ kernel: release(), greeting: process.env.GREETING ?? null, path: req.url }));
}).listen(8080, '0.0.0.0');
`;

// Other suites may run VMs on this host at the same time: only this CRN's are counted (its QEMU
// command lines and its tap leases name its data directory).
const qemuOf = (dir: string): number => qemuProcesses(dir).length;
const tapsOf = (dir: string): number => dirEntries(TAP_LEASES).filter((lease) => {
  try {
    return readFileSync(join(TAP_LEASES, lease), 'utf8').startsWith(`${dir}/`);
  } catch {
    return false;
  }
}).length;
const TAP_LEASES = '/run/aleph-nodes-vmm/tap-leases';
const nftTables = (): string[] => execFileSync('nft', ['list', 'tables'], { encoding: 'utf8' }).split('\n').filter(Boolean);
// The CRN keeps its firewall table while it runs (and across restarts, like the reference's base chains).
const CRN_TABLE = 'table inet aleph_microvm';

describe('SDK → CCN → CRN (microvm executor)', () => {
  let ccn: Awaited<ReturnType<typeof startCcnForCrn>>;
  let crn: RunningCrn | undefined;
  let crnDir: string;
  let hash: string;
  let guestKernel: string;
  const before0 = { tables: [] as string[] };

  before(async () => {
    before0.tables = nftTables();
    const images = await buildImages();
    guestKernel = images.kernelRelease;
    ccn = await startCcnForCrn();
    crnDir = mkdtempSync(join(tmpdir(), 'crn-microvm-'));
    crn = await startCrn(
      { dataDir: crnDir, ccn: ccn.ccn.url, port: 0, logLevel: 'silent', executor: 'microvm', accelerator: 'tcg', startTimeoutSeconds: 120, capacityVcpus: 8, enforcePayments: false } as CrnConfig,
      { logger: silentLogger() },
    );
    const client = new AuthenticatedAlephHttpClient(importAccountFromPrivateKey(OWNER_KEY), ccn.ccn.url);
    const runtime = await client.createStore({ fileObject: new Blob([readFileSync(images.runtimes.node)]), storageEngine: ItemType.storage, channel: 'TEST', sync: true });
    hash = await publishWith(client, runtime.item_hash, PROGRAM, { variables: { GREETING: 'from the guest' } });
  });

  after(async () => {
    await crn?.close({ stopPersistent: true });
    await ccn?.ccn.close();
    assert.equal(qemuOf(crnDir), 0, 'no QEMU process left');
    assert.equal(tapsOf(crnDir), 0, 'no tap device left');
    rmSync(crnDir, { recursive: true, force: true });
    rmSync(ccn.dir, { recursive: true, force: true });
    if (!before0.tables.includes(CRN_TABLE) && nftTables().includes(CRN_TABLE)) execFileSync('nft', ['delete', 'table', 'inet', 'aleph_microvm']);
    assert.deepEqual(nftTables(), before0.tables, 'no nftables table left');
  });

  it("serves the program from inside a VM: os.release() is the guest kernel's", async () => {
    const res = await fetch(`${crn?.url}/vm/${hash}/inside`);
    const text = await res.text();
    assert.equal(res.status, 200, text);
    const body = JSON.parse(text) as { kernel: string; greeting: string; path: string };
    assert.equal(body.kernel, guestKernel);
    assert.notEqual(body.kernel, release());
    assert.equal(body.greeting, 'from the guest');
    assert.equal(body.path, '/inside');
  });
});
