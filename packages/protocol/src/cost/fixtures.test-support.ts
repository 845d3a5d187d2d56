/**
 * The contents of pyaleph's cost tests (tests/services/test_cost_service.py, tests/api/test_costs.py),
 * as plain JSON: the worked examples of the cost table are computed on these.
 */
export const OWNER = '0xA07B1214bAe0D5ccAA25449C3149c0aC83658874';
const ROOTFS_REF = '6e30de68c6cedfa6b45240c2b51e52495ac6fb1bd4b36457b3d5ca307594d595';
export const CAFE = 'cafe'.repeat(16);

/** pyaleph's fixture_hold_instance_message: 1 vCPU, 2048 MiB, 20480 MiB rootfs, internet. */
export const holdInstance = {
  time: 1701099523.849,
  rootfs: { parent: { ref: ROOTFS_REF, use_latest: true }, size_mib: 20480, persistence: 'host' },
  address: OWNER,
  volumes: [] as unknown[],
  metadata: { name: 'Test Debian 12' },
  resources: { vcpus: 1, memory: 2048, seconds: 30 },
  allow_amend: false,
  environment: { internet: true, aleph_api: true, reproducible: false, shared_cache: false },
  authorized_keys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHlGJRaIv/EzNT0eNqNB5DiGEbii28Fb2zCjuO/bMu7y nesitor@gmail.com'],
};

export const confidentialEnvironment = {
  ...holdInstance.environment,
  hypervisor: 'qemu',
  trusted_execution: { policy: 1, firmware: 'e258d248fda94c63753607f7c4494ee0fcbe92f1a76bfdac795c9d84101eb317' },
};

export const streamPayment = { chain: 'AVAX', receiver: OWNER, type: 'superfluid' };

/** fixture_hold_instance_message_complete: 50 (ephemeral) + 100 + 100 + 100 MiB of volumes. */
export const completeVolumes = [
  { comment: 'Ephemeral storage', mount: '/var/cache', ephemeral: true, size_mib: 50 },
  { comment: 'Working data', mount: '/var/lib/sqlite', name: 'sqlite-data', persistence: 'host', size_mib: 100 },
  { comment: 'Persisted on Aleph', mount: '/var/lib/statistics', name: 'statistics', persistence: 'store', size_mib: 100 },
  { comment: 'Raw drive', name: 'raw-data', persistence: 'host', size_mib: 100 },
];

/** fixture_flow_instance_message_complete: 50 + 1024 + 10240 + 51200 MiB of volumes. */
export const flowCompleteVolumes = [
  { mount: '/var/cache', ephemeral: true, size_mib: 50 },
  { mount: '/var/lib/sqlite', name: 'sqlite-data', persistence: 'host', size_mib: 1024 },
  { mount: '/var/lib/statistics', name: 'statistics', persistence: 'store', size_mib: 10240 },
  { name: 'raw-data', persistence: 'host', size_mib: 51200 },
];

/** fixture_hold_program_message_complete: on-demand, internet, 128 MiB, every file estimated. */
export const completeProgram = {
  on: { http: true, persistent: false },
  code: { ref: CAFE, encoding: 'zip', entrypoint: 'main:app', use_latest: true, estimated_size_mib: 2048 },
  time: 1740986893.735,
  type: 'vm-function',
  address: '0xAD8ac12Ae5bC9f6D902cBDd2f0Dd70F43e522BC2',
  payment: { type: 'hold', chain: 'ETH' },
  runtime: { ref: CAFE, comment: 'Aleph Alpine Linux with Python 3.8', use_latest: true, estimated_size_mib: 1024 },
  data: { ref: CAFE, mount: '/data', encoding: 'zip', use_latest: true, estimated_size_mib: 2048 },
  volumes: [
    { mount: '/mount1', ref: CAFE, use_latest: true, estimated_size_mib: 512 },
    { mount: '/mount2', persistence: 'host', name: 'pers1', size_mib: 1024 },
  ],
  metadata: { name: 'My program', description: 'My program description' },
  resources: { vcpus: 1, memory: 128, seconds: 30 },
  variables: {},
  allow_amend: false,
  environment: { internet: true, aleph_api: true, reproducible: false, shared_cache: false },
};

const NODE_HASH = 'dc3d1d194a990b5c54380c3c0439562fefa42f5a46807cba1c500ec3affecf04';
/** pyaleph's GPU fixtures: an instance with these PCI device ids, vCPUs and memory. */
export function gpuInstance(deviceIds: readonly string[], vcpus: number, memory: number): Record<string, unknown> {
  return {
    ...holdInstance,
    resources: { vcpus, memory, seconds: 30 },
    environment: { ...holdInstance.environment, hypervisor: 'qemu' },
    authorized_keys: [],
    requirements: {
      node: { node_hash: NODE_HASH },
      gpu: deviceIds.map((device_id) => ({ vendor: 'NVIDIA', device_name: 'GPU', device_class: '0300', device_id })),
    },
  };
}
export const GPU = { rtx4090: '10de:2684', a100sxm4: '10de:20b2', l40s: '10de:26b9', unknown: 'ffff:ffff', rtx4090d: '10de:2685' } as const;

/** A STORE cost-estimation content (pyaleph's _make_store_content). */
export function storeContent(sizeMib: number, paymentType: 'hold' | 'credit' | undefined): Record<string, unknown> {
  return {
    address: OWNER,
    time: 1701099523.849,
    item_type: 'storage',
    item_hash: '734a1287a2b7b5be060312ff5b05ad1bcf838950492e3428f2ac6437a1acad26',
    ...(paymentType ? { payment: { type: paymentType } } : {}),
    estimated_size_mib: sizeMib,
  };
}

/** tests/api/test_costs.py SAMPLE_INSTANCE_CONTENT: 1 vCPU, 128 MiB, 20 GiB rootfs, no internet. */
export const sampleInstance = {
  address: '0x9319Ad3B7A8E0eE24f2E639c40D8eD124C5520Ba',
  allow_amend: false,
  environment: { reproducible: true, internet: false, aleph_api: false, shared_cache: false },
  resources: { vcpus: 1, memory: 128, seconds: 30 },
  requirements: { cpu: { architecture: 'x86_64' } },
  rootfs: { parent: { ref: '549ec451d9b099cad112d4aaa2c00ac40fb6729a92ff252ff22eef0b5c3cb613', use_latest: true }, persistence: 'host', name: 'test-rootfs', size_mib: 20 * 1024 },
  authorized_keys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGULT6A41Msmw2KEu0R9MvUjhuWNAsbdeZ0DOwYbt4Qt user@example'],
  volumes: [] as unknown[],
};
