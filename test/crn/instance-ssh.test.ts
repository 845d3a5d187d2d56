/**
 * INSTANCE end to end: the official SDK publishes the instance base image as a STORE and
 * an INSTANCE (createInstance, a fresh ed25519 key) to a real CCN; a CRN with the microvm executor
 * boots it on notify; `/v2/about/executions/list` reports the forwarded SSH port, and `ssh` with
 * the owner's key through that port answers from the guest kernel. A CRN restart re-adopts the
 * instance with the same host port; a FORGET removes the instance, its forwards and its disk.
 * Nothing (QEMU process, tap, nftables rule or table, data dir) is left behind.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { AuthenticatedAlephHttpClient } from '@aleph-sdk/client';
import { importAccountFromPrivateKey } from '@aleph-sdk/ethereum';
import { ItemType, PaymentType } from '@aleph-sdk/message';
import { ccnConfig, startCcn, type CcnNode } from '@aleph-nodes/ccn';
import { startCrn, type CrnConfig, type RunningCrn } from '@aleph-nodes/crn';
import { buildImages } from '@aleph-nodes/guest/build';
import { hashToHostLabel } from '@aleph-nodes/protocol';
import { silentLogger } from '@aleph-nodes/service';
import { parseForwardedPorts } from '../../packages/crn/src/db/port-forwards.ts';
import { OWNER_KEY } from './helpers/nodes.ts';
import { eventually } from '../helpers/eventually.ts';

const run = promisify(execFile);

/**
 * Notify starts only instances that name this node and are paid by stream or credits:
 * the CRN knows its hash and the instances name it and pay by credits.
 */
const NODE_HASH = '5a'.repeat(32);
type InstanceOptions = Parameters<AuthenticatedAlephHttpClient['createInstance']>[0];
// `chain` is the SDK core's Blockchain enum, whose ETH value is the string 'ETH'.
const PAID = { payment: { chain: 'ETH', type: PaymentType.credit }, requirements: { node: { node_hash: NODE_HASH } } } as unknown as Pick<InstanceOptions, 'payment' | 'requirements'>;

/*
 * Other tests share this machine (and the executor's nftables table): leaks are counted on what
 * belongs to this test only: QEMU processes naming its data dir, taps carrying its guests'
 * subnets, nftables forwards of its host ports.
 */
const qemuProcessesOf = (dir: string): number =>
  execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => /^\S*qemu-system-x86_64/.test(l) && l.includes(dir)).length;
/** Host interfaces whose address is in the guest subnet (`172.16.7.0/24` → the tap holding 172.16.7.1/24). */
const tapsOf = (ipv4Network: string): number => {
  const prefix = ipv4Network.replace(/\.0\/\d+$/, '.');
  return execFileSync('ip', ['-o', '-4', 'addr', 'show'], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.includes(` inet ${prefix}`)).length;
};
const forwarded = (hostPort: number): boolean => parseForwardedPorts(execFileSync('nft', ['list', 'ruleset'], { encoding: 'utf8' })).has(hostPort);
const nftTables = (): string[] => execFileSync('nft', ['list', 'tables'], { encoding: 'utf8' }).split('\n').filter(Boolean);
const CRN_TABLE = 'table inet aleph_microvm';

interface V2Entry {
  networking: { ipv4_network?: string; ipv4_ip?: string; host_ipv4?: string | null; mapped_ports?: Record<string, { host: number; tcp: boolean; udp: boolean }> };
  running: boolean;
  vm_type: string;
}

async function v2List(crn: RunningCrn): Promise<Record<string, V2Entry>> {
  return (await (await fetch(`${crn.url}/v2/about/executions/list`)).json()) as Record<string, V2Entry>;
}

describe('INSTANCE on the microvm CRN: SSH through the forwarded port', () => {
  let ccn: CcnNode | undefined;
  let crn: RunningCrn | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'crn-instance-ssh-'));
  const ccnDir = join(dir, 'ccn');
  const crnDir = join(dir, 'crn');
  const key = join(dir, 'id_ed25519');
  let client: AuthenticatedAlephHttpClient;
  let hash: string;
  let storeHash: string;
  let guestKernel: string;
  let hostPort = 0;
  let hostIp = '';
  let guestNetwork = '';
  const tablesBefore: string[] = [];

  const crnConfig = (): CrnConfig =>
    ({
      dataDir: crnDir,
      ccn: ccn?.url,
      port: 0,
      logLevel: 'silent',
      // Payments are tested in test/payments/: this unfunded owner's instances run here.
      enforcePayments: false,
      executor: 'microvm',
      accelerator: 'tcg',
      capacityVcpus: 8,
      instanceStartTimeoutSeconds: 600,
      cacheMaxMib: 8192,
      nodeHash: NODE_HASH,
    }) as CrnConfig;

  const ssh = (command: string): Promise<{ stdout: string }> =>
    run('ssh', ['-i', key, '-p', String(hostPort), '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'ConnectTimeout=60', `root@${hostIp}`, command], { timeout: 180_000 });

  before(async () => {
    tablesBefore.push(...nftTables());
    const images = await buildImages();
    guestKernel = images.kernelRelease;
    const baseImage = images.instances?.debian;
    assert.ok(baseImage, 'buildImages() gives the instance base image');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'instance-test', '-f', key]);

    // The base image is larger than the default signed upload limit (100 MiB).
    ccn = await startCcn(ccnConfig({ dataDir: ccnDir, port: 0, p2pPort: 0, logLevel: 'silent', paymentChecks: false, maxSignedUploadBytes: 4 * 1024 ** 3 }), { logger: silentLogger() });
    crn = await startCrn(crnConfig(), { logger: silentLogger() });
    client = new AuthenticatedAlephHttpClient(importAccountFromPrivateKey(OWNER_KEY), ccn.url);
    const store = await client.createStore({ fileObject: new Blob([readFileSync(baseImage)]), storageEngine: ItemType.storage, channel: 'TEST', sync: true });
    storeHash = store.item_hash;
    const instance = await client.createInstance({
      rootfs: { parent: { ref: storeHash } },
      authorized_keys: [readFileSync(`${key}.pub`, 'utf8').trim()],
      resources: { vcpus: 1, memory: 512 },
      ...PAID,
      storageEngine: ItemType.storage,
      channel: 'TEST',
      sync: true,
    });
    hash = instance.item_hash;
  });

  after(async () => {
    await crn?.close({ stopPersistent: true });
    await ccn?.close();
    rmSync(dir, { recursive: true, force: true });
    assert.equal(qemuProcessesOf(crnDir), 0, 'no QEMU process left');
    if (guestNetwork) assert.equal(tapsOf(guestNetwork), 0, 'no tap device left');
    if (hostPort) assert.equal(forwarded(hostPort), false, 'no port forward left');
    // The executor's table is shared with other CRNs of this host; it is only removed when this test made it.
    // Elements in it would belong to VMs of other CRNs; a QEMU still exiting does not count.
    const inUse = (): boolean => /elements = /.test(execFileSync('nft', ['list', 'table', 'inet', 'aleph_microvm'], { encoding: 'utf8' }));
    if (!tablesBefore.includes(CRN_TABLE) && nftTables().includes(CRN_TABLE) && !inUse()) execFileSync('nft', ['delete', 'table', 'inet', 'aleph_microvm']);
  });

  it('boots on notify and lists its forwarded SSH port (v2 and v1 lists)', async () => {
    const res = await fetch(`${crn?.url}/control/allocation/notify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ instance: hash }) });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    const entry = (await v2List(crn as RunningCrn))[hash];
    assert.ok(entry, 'the instance is listed');
    assert.equal(entry.vm_type, 'instance');
    assert.equal(entry.running, true);
    const ssh22 = entry.networking.mapped_ports?.['22'];
    assert.ok(ssh22 && ssh22.tcp && !ssh22.udp && ssh22.host >= 24_000, JSON.stringify(entry.networking));
    assert.ok(entry.networking.host_ipv4, 'host_ipv4 is known');
    assert.ok(entry.networking.ipv4_ip && entry.networking.ipv4_network);
    hostPort = ssh22.host;
    hostIp = entry.networking.host_ipv4;
    guestNetwork = entry.networking.ipv4_network ?? '';
    assert.ok(forwarded(hostPort), 'the executor forwards the host port');
    assert.equal(qemuProcessesOf(crnDir), 1, 'one QEMU process runs the instance');
    assert.equal(tapsOf(guestNetwork), 1, 'one tap carries its subnet');
    const v1 = (await (await fetch(`${crn?.url}/about/executions/list`)).json()) as Record<string, { vm_type: string; networking: { ipv4?: string } }>;
    assert.equal(v1[hash]?.vm_type, 'instance');
    assert.equal(v1[hash]?.networking.ipv4, entry.networking.ipv4_network);
    assert.ok(existsSync(join(crnDir, 'instances', hash, 'rootfs.ext4')), 'the root disk is in the data dir');
  });

  it("answers SSH with the owner's key: the guest kernel and the base32 hostname", async () => {
    const { stdout } = await ssh('uname -r; cat /etc/hostname; echo kept > /root/marker');
    const [kernel, hostname] = stdout.trim().split('\n');
    assert.equal(kernel, guestKernel);
    assert.equal(hostname, hashToHostLabel(hash));
  });

  it('keeps the instance and its host port across a CRN restart', async () => {
    await crn?.close(); // persistent executions keep running
    crn = await startCrn(crnConfig(), { logger: silentLogger() });
    const entry = (await v2List(crn))[hash];
    assert.equal(entry?.running, true);
    assert.equal(entry?.networking.mapped_ports?.['22']?.host, hostPort);
    const { stdout } = await ssh('cat /root/marker');
    assert.equal(stdout.trim(), 'kept');
  });

  it('a rootfs parent that is not a disk image ends only that instance, with a clear error', async () => {
    const running = crn as RunningCrn;
    const junk = await client.createStore({ fileObject: new Blob([new TextEncoder().encode('not a disk image')]), storageEngine: ItemType.storage, channel: 'TEST', sync: true });
    const bad = await client.createInstance({ rootfs: { parent: { ref: junk.item_hash } }, resources: { vcpus: 1, memory: 128 }, ...PAID, storageEngine: ItemType.storage, channel: 'TEST', sync: true });
    const res = await fetch(`${running.url}/control/allocation/notify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ instance: bad.item_hash }) });
    const body = (await res.json()) as { success: boolean; errors: Record<string, string> };
    assert.equal(res.status, 503);
    assert.match(body.errors[bad.item_hash] ?? '', /INVALID_IMAGE: rootfs parent: it is not a raw ext4 disk image/);
    const list = await v2List(running);
    assert.equal(list[bad.item_hash]?.running, false);
    assert.equal(list[hash]?.running, true, 'the other instance keeps running');
    assert.equal(existsSync(join(crnDir, 'instances', bad.item_hash, 'rootfs.ext4')), false);
  });

  it('FORGET removes the instance, its port forwards and its disk', async () => {
    await client.forget({ hashes: [hash], channel: 'TEST', sync: true });
    const running = crn as RunningCrn;
    await eventually('the forgotten instance leaves the list', 120_000, async () => !((await v2List(running))[hash]));
    assert.equal(existsSync(join(crnDir, 'instances', hash)), false, 'the disk is removed');
    const db = new Database(join(crnDir, 'crn.sqlite'), { readonly: true });
    try {
      const active = db.prepare('SELECT COUNT(*) AS n FROM port_forwards WHERE vm_hash = ? AND deleted_at IS NULL').get(hash) as { n: number };
      assert.equal(active.n, 0, 'no active port forward in the database');
    } finally {
      db.close();
    }
    assert.equal(forwarded(hostPort), false, 'no nftables forward of the host port');
    assert.equal(qemuProcessesOf(crnDir), 0, 'the VM is gone');
    assert.equal(tapsOf(guestNetwork), 0, 'its tap is gone');
  });

  it('the process executor refuses instances with a clear 400', async () => {
    const processDir = join(dir, 'crn-process');
    const processCrn = await startCrn({ dataDir: processDir, ccn: ccn?.url, port: 0, logLevel: 'silent', executor: 'process', messageWatch: false, nodeHash: NODE_HASH, enforcePayments: false } as CrnConfig, { logger: silentLogger() });
    try {
      const instance = await client.createInstance({ rootfs: { parent: { ref: storeHash } }, resources: { vcpus: 1, memory: 128 }, ...PAID, storageEngine: ItemType.storage, channel: 'TEST', sync: true });
      const res = await fetch(`${processCrn.url}/control/allocation/notify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ instance: instance.item_hash }) });
      const body = await res.text();
      assert.equal(res.status, 400, body);
      assert.match(body, /UNSUPPORTED_WORKLOAD.*lacks the instances capability/);
    } finally {
      await processCrn.close({ stopPersistent: true });
    }
  });
});
