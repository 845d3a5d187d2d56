/**
 * Differential check of the cost function against pyaleph's own code: random PROGRAM, INSTANCE and
 * STORE contents, pricing aggregates and file sizes are priced by `messageCost` and by pyaleph's
 * services/cost.py (run unchanged by harness.py, its database accessors stubbed), and every digit
 * is compared. Not part of the test suite (it needs Python and a pyaleph checkout):
 *
 *   python3 -m venv /tmp/pyaleph-venv && /tmp/pyaleph-venv/bin/pip install aleph-message
 *   PYALEPH_SRC=/path/to/pyaleph/src PYTHON=/tmp/pyaleph-venv/bin/python npx tsx scripts/pyaleph-cost-diff/diff.ts 4000
 *
 * Known difference: pyaleph raises decimal.InvalidOperation ("PY THREW") on any amount of 10^10 or
 * more (quantizing it to 18 places needs more than 28 digits); we compute it.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { DEFAULT_PRICE_AGGREGATE, DEFAULT_SETTINGS_AGGREGATE, messageCost, pricingFrom, PRODUCT_TYPES } from '../../packages/protocol/src/cost/index.ts';

const N = Number(process.argv[2] ?? 300);
const HASHES = ['aa', 'bb', 'cc', 'dd'].map((h) => h.repeat(32));
const dec = fc.oneof(
  fc.constantFrom('0', '0.05', '1000', '0.000000977', '14250', '0.17967489030626108', '3', '0.333333333', '7'),
  fc.tuple(fc.nat(100000), fc.nat(999999999)).map(([a, b]) => `${a}.${String(b).padStart(9, '0')}`),
  fc.double({ min: 0, max: 1e5, noNaN: true }),
  fc.integer({ min: 0, max: 100000 }),
);
const opts = fc.record({ holding: dec, payg: dec, credit: dec }, { requiredKeys: [] });
const unit = fc.record({ vcpus: fc.integer({ min: 1, max: 4 }), disk_mib: fc.integer({ min: 0, max: 100000 }), memory_mib: fc.integer({ min: 1, max: 8192 }) });
const product = (type: string) => {
  const def = (DEFAULT_PRICE_AGGREGATE as Record<string, any>)[type];
  return fc.oneof(
    fc.constant(def),
    fc.record({ storage: opts, compute_unit: opts, unit, keepTiers: fc.boolean(), tierCus: fc.array(fc.integer({ min: 0, max: 30 }), { minLength: 4, maxLength: 4 }) }).map((r) => {
      const tiers = def.tiers ? def.tiers.map((t: any, i: number) => ({ ...t, compute_units: r.tierCus[i] ?? t.compute_units })) : undefined;
      return { price: { storage: r.storage, compute_unit: r.compute_unit }, compute_unit: r.unit, ...(r.keepTiers && tiers ? { tiers } : {}) };
    }),
  );
};
const pricing = fc.record(Object.fromEntries(PRODUCT_TYPES.map((t) => [t, product(t)])) as Record<string, fc.Arbitrary<unknown>>);
const mib = fc.oneof(fc.integer({ min: 1, max: 200_000 }), fc.constantFrom(1, 2048, 20480, 61440));
const payment = fc.constantFrom(undefined, { chain: 'ETH', type: 'hold' }, { chain: 'ETH', type: 'credit' }, { chain: 'AVAX', type: 'superfluid', receiver: '0x1111111111111111111111111111111111111111' });
const volume = fc.oneof(
  fc.record({ ref: fc.constantFrom(...HASHES), use_latest: fc.boolean(), mount: fc.constantFrom('/a', '/b', undefined), estimated_size_mib: fc.option(fc.integer({ min: 0, max: 5000 }), { nil: undefined }) }),
  fc.record({ ephemeral: fc.constant(true), size_mib: fc.integer({ min: 1, max: 1000 }), mount: fc.constantFrom('/tmp', undefined) }),
  fc.record({ persistence: fc.constantFrom('host', 'store'), name: fc.constant('v'), size_mib: mib, mount: fc.constantFrom('/data', undefined) }),
);
const resources = fc.record({ vcpus: fc.integer({ min: 1, max: 16 }), memory: fc.integer({ min: 128, max: 65536 }), seconds: fc.constant(30) });
const GPUS = ['10de:2684', '10de:20b2', '10de:26b9', '10de:2330', '10de:27b0', '10de:2204'];
const instance = fc.record({ resources, payment, volumes: fc.array(volume, { maxLength: 4 }), size: mib, gpus: fc.array(fc.constantFrom(...GPUS), { maxLength: 3 }), conf: fc.boolean() }).map((r) => ({
  type: 'INSTANCE',
  content: {
    time: 1, address: '0x2222222222222222222222222222222222222222', allow_amend: false, resources: r.resources, volumes: r.volumes,
    ...(r.payment ? { payment: r.payment } : {}),
    rootfs: { parent: { ref: HASHES[0], use_latest: true }, persistence: 'host', size_mib: r.size },
    environment: { internet: true, aleph_api: true, reproducible: false, shared_cache: false, hypervisor: 'qemu', ...(r.conf ? { trusted_execution: { policy: 1, firmware: HASHES[1] } } : {}) },
    ...(r.gpus.length > 0 || r.payment?.type !== 'hold' ? { requirements: { node: { node_hash: HASHES[2] }, ...(r.gpus.length ? { gpu: r.gpus.map((id) => ({ vendor: 'NVIDIA', device_name: 'x', device_class: '0300', device_id: id })) } : {}) } } : {}),
  },
}));
const file = (ul: boolean) => fc.record({ ref: fc.constantFrom(...HASHES), use_latest: fc.constant(ul), est: fc.option(fc.integer({ min: 0, max: 4000 }), { nil: undefined }) });
const program = fc.record({ resources, payment, volumes: fc.array(volume, { maxLength: 3 }), persistent: fc.option(fc.boolean(), { nil: undefined }), internet: fc.boolean(), code: file(false), runtime: file(true), data: fc.option(file(false), { nil: undefined }) }).map((r) => ({
  type: 'PROGRAM',
  content: {
    time: 1, address: '0x2222222222222222222222222222222222222222', allow_amend: false, type: 'vm-function', resources: r.resources, volumes: r.volumes,
    ...(r.payment && r.payment.type !== 'superfluid' ? { payment: r.payment } : {}),
    on: { http: true, ...(r.persistent !== undefined ? { persistent: r.persistent } : {}) },
    environment: { internet: r.internet, aleph_api: true, reproducible: false, shared_cache: false },
    code: { encoding: 'zip', entrypoint: 'main:app', ref: r.code.ref, use_latest: false, ...(r.code.est !== undefined ? { estimated_size_mib: r.code.est } : {}) },
    runtime: { ref: r.runtime.ref, use_latest: true, comment: '', ...(r.runtime.est !== undefined ? { estimated_size_mib: r.runtime.est } : {}) },
    ...(r.data ? { data: { encoding: 'zip', mount: '/data', ref: r.data.ref, use_latest: false, ...(r.data.est !== undefined ? { estimated_size_mib: r.data.est } : {}) } } : {}),
  },
}));
const store = fc.record({ est: fc.option(fc.oneof(fc.double({ min: 0, max: 500, noNaN: true }), fc.integer({ min: 0, max: 100 })), { nil: undefined }), payment: fc.constantFrom(undefined, { type: 'hold' }, { type: 'credit' }) }).map((r) => ({
  type: 'STORE',
  content: { time: 1, address: '0x2222222222222222222222222222222222222222', item_type: 'storage', item_hash: HASHES[3], ...(r.payment ? { payment: r.payment } : {}), ...(r.est !== undefined ? { estimated_size_mib: r.est } : {}) },
}));
const sizes = fc.dictionary(fc.constantFrom(...HASHES), fc.integer({ min: 0, max: 2 ** 36 }));
const caseArb = fc.record({ msg: fc.oneof(instance, program, store), pricing: fc.option(pricing, { nil: undefined }), sizes, storeBytes: fc.option(fc.integer({ min: 0, max: 2 ** 34 }), { nil: undefined }) });

const cases = fc.sample(caseArb, N).map((c) => ({ type: c.msg.type, content: c.msg.content, pricing: c.pricing, settings: DEFAULT_SETTINGS_AGGREGATE, sizes: c.sizes, storeBytes: c.storeBytes }));
const harness = fileURLToPath(new URL('./harness.py', import.meta.url));
const py = spawnSync(process.env.PYTHON ?? 'python3', [harness], { input: JSON.stringify(cases), maxBuffer: 1 << 28 });
if (py.status !== 0) throw new Error(py.stderr.toString());
const results = JSON.parse(py.stdout.toString()) as any[];
let compared = 0, invalid = 0, errorsBoth = 0, mismatches = 0;
cases.forEach((c, i) => {
  const want = results[i];
  if (want.invalid) { invalid++; return; }
  let got: any;
  try {
    got = messageCost(c.type as any, c.content, { pricing: pricingFrom({ pricing: c.pricing, settings: c.settings }), fileSize: (ref) => (c.sizes as any)[ref], storeBytes: c.storeBytes });
  } catch (e) {
    if (want.error) { errorsBoth++; return; }
    mismatches++; console.log('WE THREW', String(e), JSON.stringify(c).slice(0, 400)); return;
  }
  if (want.error) { mismatches++; console.log('PY THREW', want.error, JSON.stringify(c).slice(0, 300)); return; }
  const norm = (d: any[]) => d.map((l) => ({ type: l.type, name: String(l.name).replace('CostType.', ''), hold: l.hold, stream: l.stream, credit: l.credit }));
  const a = JSON.stringify({ p: got.paymentType, c: got.cost, d: norm(got.detail) });
  const b = JSON.stringify({ p: want.paymentType, c: want.cost, d: norm(want.detail) });
  compared++;
  if (a !== b) { mismatches++; if (mismatches < 6) console.log('MISMATCH\n ours', a, '\n py  ', b, '\n case', JSON.stringify(c).slice(0, 600)); }
});
console.log({ compared, invalid, errorsBoth, mismatches });
