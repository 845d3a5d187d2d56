/**
 * The price routes of a real CCN process, in pyaleph's shapes, for messages the official SDK
 * builds: GET /api/v0/price/{hash} (processed, forgotten STORE, pending → 102, unknown → 404),
 * POST /api/v0/price/estimate (the SDK's getEstimatedCost, with estimated_size_mib), POST
 * /api/v0/price/estimate/instance, and prices following a `pricing` aggregate the network publishes.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { AuthenticatedAlephHttpClient } from '@aleph-sdk/client';
import { importAccountFromPrivateKey } from '@aleph-sdk/ethereum';
import { ItemType } from '@aleph-sdk/message';
import { buildInlineMessage, DEFAULT_PRICE_AGGREGATE, EthAccount, PriceResponseSchema, sha256Hex, type PriceResponse } from '@aleph-nodes/protocol';
import { postgresSettings, startCcnProcess, type CcnProcess } from './helpers/ccn-process.ts';

// Public Hardhat/Anvil test keys #1 and #2: never used for anything of value.
const USER_KEY = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d';
const PRICING_KEY = '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a';
const PRICING_OWNER = EthAccount.fromPrivateKey(PRICING_KEY).address;

/** tests/api/test_costs.py SAMPLE_INSTANCE_CONTENT. */
const SAMPLE_INSTANCE = {
  address: '0x9319Ad3B7A8E0eE24f2E639c40D8eD124C5520Ba',
  allow_amend: false,
  environment: { reproducible: true, internet: false, aleph_api: false, shared_cache: false },
  resources: { vcpus: 1, memory: 128, seconds: 30 },
  requirements: { cpu: { architecture: 'x86_64' } },
  rootfs: { parent: { ref: '549ec451d9b099cad112d4aaa2c00ac40fb6729a92ff252ff22eef0b5c3cb613', use_latest: true }, persistence: 'host', name: 'test-rootfs', size_mib: 20 * 1024 },
  authorized_keys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGULT6A41Msmw2KEu0R9MvUjhuWNAsbdeZ0DOwYbt4Qt user@example'],
  volumes: [],
};

/** The status line of a raw GET (what a 1xx-only answer looks like on the wire). */
async function rawStatusLine(url: string, path: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => socket.write(`GET ${path} HTTP/1.1\r\nHost: ${hostname}\r\n\r\n`));
    let data = '';
    socket.on('data', (chunk) => (data += chunk.toString('latin1')));
    socket.on('error', reject);
    // The node closes the connection after the 102: the read ends instead of waiting for a final answer.
    socket.on('close', () => resolve(data.split('\r\n')[0] ?? ''));
  });
}

for (const engine of ['sqlite', 'postgres'] as const) describe(`price routes (${engine})`, () => {
  let ccn: CcnProcess;
  let client: AuthenticatedAlephHttpClient;
  const pgSchema = engine === 'postgres' ? postgresSettings() : undefined;
  const user = EthAccount.fromPrivateKey(USER_KEY);

  const getPrice = async (hash: string, query = ''): Promise<{ status: number; body: unknown }> => {
    const res = await fetch(`${ccn.url}/api/v0/price/${hash}${query}`);
    return { status: res.status, body: await res.json() };
  };
  const priced = (body: unknown): PriceResponse => PriceResponseSchema.parse(body);
  const postJson = async (path: string, body: unknown): Promise<{ status: number; body: unknown }> => {
    const res = await fetch(`${ccn.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: await res.json() };
  };

  before(async () => {
    // Pending messages stay pending (slow retries); the pricing aggregate is read from PRICING_OWNER.
    ccn = await startCcnProcess({ ...(pgSchema?.settings ?? {}), pricingOwner: PRICING_OWNER, retryBaseMs: 600_000, retryMaxMs: 600_000 });
    client = new AuthenticatedAlephHttpClient(importAccountFromPrivateKey(USER_KEY), ccn.url);
  });
  after(async () => {
    await ccn?.stop();
    await pgSchema?.drop();
  });

  it('a hold STORE of 1536 bytes: 0.00146484375 MiB × 0.333333333 = 0.000488281249511718 ALEPH, priced again once forgotten', async () => {
    const bytes = new Uint8Array(1536).fill(7);
    const store = await client.createStore({ fileObject: new Blob([bytes]), storageEngine: ItemType.storage, channel: 'TEST', sync: true });
    const { status, body } = await getPrice(store.item_hash, '?include_size=true');
    assert.equal(status, 200, JSON.stringify(body));
    const price = priced(body);
    assert.equal(price.payment_type, 'hold');
    assert.equal(price.cost, '0.000488281249511718');
    assert.equal(price.required_tokens, 0.000488281249511718);
    assert.equal(price.charged_address, user.address);
    assert.deepEqual(price.detail, [{ type: 'STORAGE', name: 'STORAGE', cost_hold: '0.000488281249511718', cost_stream: '0.000000000000000000', cost_credit: '0.000000073109900026', size_mib: 0.00146484375 }]);
    // Without include_size, sizes are null (pyaleph's default).
    assert.equal(priced((await getPrice(store.item_hash)).body).detail[0]?.size_mib, null);

    await client.forget({ hashes: [store.item_hash], reason: 'price test', channel: 'TEST', sync: true });
    const gone = await getPrice(store.item_hash);
    assert.equal(gone.status, 200, JSON.stringify(gone.body));
    assert.equal(priced(gone.body).cost, '0.000488281249511718');
    assert.equal(priced(gone.body).charged_address, user.address);
  });

  it('an SDK program (on demand, internet, 128 MiB): 2 × 200 = 400 ALEPH held, its small code and runtime inside the included disk', async () => {
    const runtime = await client.createStore({ fileObject: new Blob([new TextEncoder().encode('runtime stand-in')]), storageEngine: ItemType.storage, channel: 'TEST', sync: true });
    const program = await client.createProgram({ file: new Blob([new TextEncoder().encode('PK fake zip')]), entrypoint: 'main:app', runtime: runtime.item_hash, storageEngine: ItemType.storage, channel: 'TEST' });
    const price = priced((await getPrice(program.item_hash, '?include_size=true')).body);
    assert.equal(price.payment_type, 'hold');
    assert.equal(price.cost, '400.000000000000000000');
    assert.deepEqual(price.detail.map((d) => d.type), ['EXECUTION', 'EXECUTION_PROGRAM_VOLUME_CODE', 'EXECUTION_PROGRAM_VOLUME_RUNTIME', 'EXECUTION_VOLUME_DISCOUNT']);
    assert.equal(price.detail[1]?.size_mib, 11 / (1024 * 1024));
    assert.equal(price.detail[0]?.name, 'program');
  });

  it('an SDK instance (credits by default) of 1 vCPU 128 MiB 20 GiB: 14250/h = 3.958333333333333333 credits/s', async () => {
    const rootfs = await client.createStore({ fileObject: new Blob([new TextEncoder().encode('rootfs stand-in')]), storageEngine: ItemType.storage, channel: 'TEST', sync: true });
    const instance = await client.createInstance({ rootfs: { parent: { ref: rootfs.item_hash }, size_mib: 20_480 }, channel: 'TEST' });
    const price = priced((await getPrice(instance.item_hash)).body);
    assert.equal(price.payment_type, 'credit');
    assert.equal(price.cost, '3.958333333333333333');
    assert.equal(price.detail[0]?.name, 'instance');
  });

  it('SDK estimates: a program with an estimated 1 MiB code = 400 ALEPH; a 30 MiB credit STORE = 0.001497290752552175 credits/s', async () => {
    const program = await client.programClient.getEstimatedCost({ account: client.account, channel: 'TEST', entrypoint: 'main:app', estimated_size_mib: 1, file: undefined } as never);
    assert.equal(program.payment_type, 'hold');
    assert.equal(program.cost, '400.000000000000000000');
    const store = await client.storeClient.getEstimatedCost({ account: client.account, channel: 'TEST', fileHash: 'Qm' + 'a'.repeat(44), storageEngine: ItemType.ipfs, estimated_size_mib: 30, payment: { chain: 'ETH', type: 'credit' } } as never);
    assert.equal(store.payment_type, 'credit');
    assert.equal(store.cost, '0.001497290752552175');
  });

  it('SDK instance estimate with an estimated 100 MiB immutable volume: credit 3.958333333333333333/s (volume inside the included disk)', async () => {
    const estimate = await client.instanceClient.getEstimatedCost({
      account: client.account,
      channel: 'TEST',
      rootfs: { parent: { ref: sha256Hex('rootfs') }, size_mib: 10_240 },
      volumes: [{ ref: 'cafe'.repeat(16), mount: '/opt/data', use_latest: true, estimated_size_mib: 100 }],
    } as never);
    assert.equal(estimate.payment_type, 'credit');
    assert.equal(estimate.cost, '3.958333333333333333');
    assert.ok(estimate.detail.some((d) => d.type === 'EXECUTION_VOLUME_INMUTABLE' && d.name === '#0:/opt/data'));
  });

  it('POST /api/v0/price/estimate/instance: pyaleph\'s sample = 1000 ALEPH held, rootfs size 20480, execution size null; bad bodies 422', async () => {
    const { status, body } = await postJson('/api/v0/price/estimate/instance', SAMPLE_INSTANCE);
    assert.equal(status, 200, JSON.stringify(body));
    const price = priced(body);
    assert.equal(price.cost, '1000.000000000000000000');
    assert.equal(price.charged_address, SAMPLE_INSTANCE.address);
    assert.equal(price.detail.find((d) => d.type === 'EXECUTION')?.size_mib, null);
    assert.equal(price.detail.find((d) => d.type === 'EXECUTION_INSTANCE_VOLUME_ROOTFS')?.size_mib, 20_480);
    assert.equal((await postJson('/api/v0/price/estimate/instance', { invalid: 'content' })).status, 422);
    const credit = priced((await postJson('/api/v0/price/estimate/instance', { ...SAMPLE_INSTANCE, payment: { chain: 'ETH', type: 'credit' }, requirements: { node: { node_hash: 'ab'.repeat(32) } } })).body);
    assert.equal(credit.payment_type, 'credit');
    assert.equal(credit.cost, '3.958333333333333333');
    const gpu = await postJson('/api/v0/price/estimate/instance', { ...SAMPLE_INSTANCE, environment: { hypervisor: 'qemu' }, requirements: { node: { node_hash: 'ab'.repeat(32) }, gpu: [{ vendor: 'NVIDIA', device_name: 'x', device_class: '0300', device_id: 'ffff:ffff' }] } });
    assert.equal(gpu.status, 422);
    assert.equal((await postJson('/api/v0/price/estimate', { message: { item_hash: 'x', item_content: '{', type: 'PROGRAM' } })).status, 422);
    assert.equal((await postJson('/api/v0/price/estimate', { message: { item_hash: 'x', item_content: '{}', type: 'POST' } })).status, 422);
  });

  it('a pending message answers 102 (pyaleph) and the connection closes; unknown → 404; a POST → 400', async () => {
    const missing = sha256Hex('no such code');
    const program = buildInlineMessage(user, 'PROGRAM', {
      type: 'vm-function',
      allow_amend: false,
      on: { http: true },
      code: { encoding: 'zip', entrypoint: 'main:app', ref: missing, use_latest: false },
      runtime: { ref: missing, use_latest: false, comment: '' },
      resources: { vcpus: 1, memory: 128, seconds: 30 },
    }, { channel: 'TEST' });
    const submitted = await postJson('/api/v0/messages', { sync: false, message: program });
    assert.equal(submitted.status, 202, JSON.stringify(submitted.body));
    assert.equal(await rawStatusLine(ccn.url, `/api/v0/price/${program.item_hash}`), 'HTTP/1.1 102 Processing');
    await assert.rejects(fetch(`${ccn.url}/api/v0/price/${program.item_hash}`, { signal: AbortSignal.timeout(60_000) }), (e: Error) => e.name !== 'TimeoutError');

    const unknown = await getPrice(sha256Hex('unknown'));
    assert.equal(unknown.status, 404);
    const post = await client.createPost({ postType: 'x', content: {}, channel: 'TEST', sync: true });
    assert.equal((await getPrice(post.item_hash)).status, 400);
  });

  it('follows the pricing aggregate the network publishes: instance at 500 ALEPH per CU → the sample holds 500', async () => {
    const publisher = new AuthenticatedAlephHttpClient(importAccountFromPrivateKey(PRICING_KEY), ccn.url);
    const instance = { ...DEFAULT_PRICE_AGGREGATE.instance, price: { ...DEFAULT_PRICE_AGGREGATE.instance.price, compute_unit: { payg: '0.02', holding: '500', credit: '7200' } } };
    await publisher.createAggregate({ key: 'pricing', content: { instance }, channel: 'TEST', sync: true });
    assert.equal(priced((await postJson('/api/v0/price/estimate/instance', SAMPLE_INSTANCE)).body).cost, '500.000000000000000000');
    // Products the aggregate leaves out keep their defaults.
    const program = await client.programClient.getEstimatedCost({ account: client.account, channel: 'TEST', entrypoint: 'main:app', estimated_size_mib: 1, file: undefined } as never);
    assert.equal(program.cost, '400.000000000000000000');
    // A published product without a compute-unit price cannot price executables: the network's fault, 503.
    await publisher.createAggregate({ key: 'pricing', content: { instance_confidential: { price: { storage: { holding: '0.05' } } } }, channel: 'TEST', sync: true });
    const confidential = await postJson('/api/v0/price/estimate/instance', { ...SAMPLE_INSTANCE, environment: { hypervisor: 'qemu', trusted_execution: { policy: 1 } } });
    assert.equal(confidential.status, 503, JSON.stringify(confidential.body));
    assert.equal((confidential.body as { error: { code: string } }).error.code, 'PRICING_INCOMPLETE');
  });
});
