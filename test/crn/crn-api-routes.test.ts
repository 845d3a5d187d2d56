/**
 * aleph-vm 1.14 routes of the CRN against a real CCN and CRN (process executor): certificates
 * without SEV, resource reservation, reinstall, backup/restore refusals, the update notification,
 * and allocation pushes that leave credit-paid workloads alone.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ItemType } from '@aleph-sdk/message';
import { EthAccount, OwnerSession, ReservationAnswerSchema, signAllocationRequest } from '@aleph-nodes/protocol';
import { makeZip } from '../../packages/crn/src/testing/zip.ts';
import { ECHO_PROGRAM, OWNER_KEY, startNodes, type Nodes } from './helpers/nodes.ts';

const DOMAIN = '127.0.0.1';
const scheduler = EthAccount.generate();
const owner = new OwnerSession(EthAccount.fromPrivateKey(OWNER_KEY), DOMAIN);

interface ErrorBody {
  error: { code: string; message: string };
}

function signed(method: string, path: string): Record<string, string> {
  return { 'X-SignedPubKey': owner.signedPubKey, 'X-SignedOperation': owner.signOperation({ method, path, domain: DOMAIN }) };
}

let pushes = 0;

describe('CRN routes as aleph-vm 1.14 serves them', { timeout: 300_000 }, () => {
  let nodes: Nodes;
  let program = '';

  const push = async (persistent: string[]): Promise<{ status: number; body: { successful: string[]; stopped: string[] } }> => {
    const body = JSON.stringify({ persistent_vms: persistent, instances: [] });
    const iat = Math.floor(Date.now() / 1000) + pushes++;
    const res = await fetch(`${nodes.crn.url}/control/allocations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: signAllocationRequest(scheduler, { method: 'POST', path: '/control/allocations', body, iat, target: { nodeHash: null, url: nodes.crn.url } }) },
      body,
    });
    return { status: res.status, body: (await res.json()) as { successful: string[]; stopped: string[] } };
  };
  const boot = async (ref: string): Promise<string> => ((await (await fetch(`${nodes.crn.url}/vm/${ref}/`)).json()) as { boot: string }).boot;

  before(async () => {
    nodes = await startNodes({ authorizedAllocationSigners: [scheduler.address], idleTimeoutSeconds: 3600 });
    program = await nodes.publishProgram(ECHO_PROGRAM, { variables: { FOO: 'routes' } });
    await boot(program);
  });
  after(async () => {
    await nodes?.close();
  });

  it('/about/certificates: a 404 JSON error without confidential computing', async () => {
    const res = await fetch(`${nodes.crn.url}/about/certificates`);
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as ErrorBody).error.code, 'CONFIDENTIAL_UNSUPPORTED');
  });

  it('/control/reserve_resources: owner-signed, checked against capacity, GPUs refused as aleph-vm', async () => {
    const address = EthAccount.fromPrivateKey(OWNER_KEY).address;
    const content = (resources: Record<string, number>, extra: Record<string, unknown> = {}): string =>
      JSON.stringify({
        address,
        time: Date.now() / 1000,
        allow_amend: false,
        environment: { internet: true, aleph_api: true },
        resources: { vcpus: 1, memory: 256, seconds: 30, ...resources },
        volumes: [],
        rootfs: { parent: { ref: 'cd'.repeat(32), use_latest: true }, persistence: 'host', size_mib: 1024 },
        ...extra,
      });
    const path = '/control/reserve_resources';
    const post = (body: string, headers: Record<string, string> = signed('POST', path)): Promise<Response> =>
      fetch(`${nodes.crn.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

    const unsigned = await post(content({}), {});
    assert.equal(unsigned.status, 401);
    await unsigned.arrayBuffer();
    const headers = signed('POST', path);
    const ok = await post(content({}), headers);
    assert.equal(ok.status, 200, await ok.clone().text());
    const answer = ReservationAnswerSchema.parse(await ok.json());
    assert.ok(Date.parse(answer.expires) > Date.now());
    const replayed = await post(content({}), headers);
    assert.equal(replayed.status, 401);
    await replayed.arrayBuffer();
    const tooBig = await post(content({ memory: 1_000_000 }));
    assert.equal(tooBig.status, 503);
    assert.equal(((await tooBig.json()) as ErrorBody).error.code, 'INSUFFICIENT_CAPACITY');
    const gpu = await post(content({}, { environment: { internet: true, aleph_api: true, hypervisor: 'qemu' }, requirements: { node: { node_hash: 'ab'.repeat(32) }, gpu: [{ vendor: 'NVIDIA', device_name: 'AD102', device_class: '0300', device_id: '10de:2684' }] } }));
    assert.equal(gpu.status, 400, await gpu.clone().text());
    assert.equal(((await gpu.json()) as { status: string }).status, 'error', 'gpu');
    const invalid = await post('{"not": "an instance"}');
    assert.equal(invalid.status, 400);
    assert.equal(((await invalid.json()) as ErrorBody).error.code, 'INVALID_BODY');
  });

  it('/control/machine/{ref}/reinstall: stopped, volumes erased (unless erase_volumes=false), started again', async () => {
    const volumes = join(nodes.crnDataDir, 'volumes', program);
    const reinstall = async (query: string): Promise<Response> => {
      const path = `/control/machine/${program}/reinstall`;
      return fetch(`${nodes.crn.url}${path}${query}`, { method: 'POST', headers: signed('POST', path) });
    };
    mkdirSync(volumes, { recursive: true });
    writeFileSync(join(volumes, 'marker'), 'x');
    const first = await boot(program);
    const kept = await reinstall('?erase_volumes=false');
    assert.equal(kept.status, 200);
    assert.equal(await kept.text(), `Reinstalled VM with ref ${program}`);
    assert.ok(existsSync(join(volumes, 'marker')), 'erase_volumes=false keeps the volumes');
    const second = await boot(program);
    assert.notEqual(second, first, 'started again');
    const erased = await reinstall('');
    assert.equal(erased.status, 200, await erased.clone().text());
    await erased.arrayBuffer();
    assert.equal(existsSync(volumes), false, 'volumes erased');
    assert.notEqual(await boot(program), second);
    const stranger = await fetch(`${nodes.crn.url}/control/machine/${program}/reinstall`, { method: 'POST' });
    assert.equal(stranger.status, 401);
    await stranger.arrayBuffer();
  });

  it('backup and restore: a clear 400 after the owner checks', async () => {
    const path = `/control/machine/${program}/backup`;
    const res = await fetch(`${nodes.crn.url}${path}`, { method: 'POST', headers: signed('POST', path) });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as ErrorBody).error.code, 'BACKUP_UNSUPPORTED');
    const unsigned = await fetch(`${nodes.crn.url}/control/machine/${program}/restore`, { method: 'POST' });
    assert.equal(unsigned.status, 401);
    await unsigned.arrayBuffer();
  });

  it('/control/machine/{ref}/update: 404 for an unknown execution, {} for a running one, "not starting yet" for a stopped one', async () => {
    const unknown = await fetch(`${nodes.crn.url}/control/machine/${'ef'.repeat(32)}/update`, { method: 'POST' });
    assert.equal(unknown.status, 404);
    await unknown.arrayBuffer();
    const known = await fetch(`${nodes.crn.url}/control/machine/${program}/update`, { method: 'POST' });
    assert.equal(known.status, 200);
    assert.deepEqual(await known.json(), {});
    const other = await nodes.publishProgram(ECHO_PROGRAM, { variables: { FOO: 'update' } });
    await boot(other);
    const stopPath = `/control/machine/${other}/stop`;
    const stop = await fetch(`${nodes.crn.url}${stopPath}`, { method: 'POST', headers: signed('POST', stopPath) });
    assert.equal(stop.status, 200);
    await stop.arrayBuffer();
    const stopped = await fetch(`${nodes.crn.url}/control/machine/${other}/update`, { method: 'POST' });
    assert.deepEqual(await stopped.json(), { status: 'ok', msg: 'VM not starting yet' });
  });

  it('an allocation push stops the hold workloads it no longer lists, never a credit-paid one', async () => {
    const zip = makeZip([{ name: 'main.mjs', data: ECHO_PROGRAM, deflate: true }]);
    const runtime = (await nodes.client.createStore({ fileObject: new Blob([new TextEncoder().encode('runtime stand-in')]), storageEngine: ItemType.storage, channel: 'TEST', sync: true })).item_hash;
    const credit = (
      await nodes.client.createProgram({
        file: new Blob([zip]),
        entrypoint: 'main.mjs',
        runtime,
        storageEngine: ItemType.storage,
        channel: 'TEST',
        isPersistent: true,
        memory: 128,
        payment: { chain: 'ETH' as never, type: 'credit' as never },
        sync: true,
      })
    ).item_hash;
    const hold = await nodes.publishProgram(ECHO_PROGRAM, { persistent: true, variables: { FOO: 'hold' } });
    const placed = await push([credit, hold]);
    assert.equal(placed.status, 200, JSON.stringify(placed.body));
    const emptied = await push([]);
    assert.equal(emptied.status, 200);
    assert.deepEqual(emptied.body.stopped, [hold]);
    const list = (await (await fetch(`${nodes.crn.url}/v2/about/executions/list`)).json()) as Record<string, { running: boolean }>;
    assert.equal(list[credit]?.running, true, 'the credit-paid program keeps running');
    assert.equal(list[hold]?.running, false);
  });
});
