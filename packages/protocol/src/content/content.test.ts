/** Content schemas on their own: defaults, limits and the helpers around them (aleph-protocol.md §4). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ProtocolError } from '../errors.ts';
import { aggregateKeyName } from './aggregate.ts';
import type { MessageType } from './common.ts';
import { isEphemeralVolume, isImmutableVolume, isPersistentVolume, type Volume } from './executable.ts';
import { parseContent } from './index.ts';
import { programInterface } from './program.ts';

const base = { address: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266', time: 1795299904.5 };
const H = 'c'.repeat(64);

function rejects(type: MessageType, content: unknown, path?: string): ProtocolError {
  let thrown: unknown;
  try {
    parseContent(type, content);
  } catch (err) {
    thrown = err;
  }
  assert.ok(thrown instanceof ProtocolError, `expected INVALID_CONTENT, got ${String(thrown)}`);
  assert.equal(thrown.code, 'INVALID_CONTENT');
  assert.ok(thrown.issues.length > 0);
  if (path) assert.ok(thrown.issues.some((i) => i.path === path), `no issue at ${path}: ${JSON.stringify(thrown.issues)}`);
  return thrown;
}

const minimalProgram = {
  ...base,
  type: 'vm-function',
  allow_amend: false,
  code: { encoding: 'squashfs', entrypoint: 'run.sh', ref: H },
  runtime: { ref: H, comment: '' },
  on: { http: true },
};
const minimalInstance = {
  ...base,
  allow_amend: true,
  rootfs: { parent: { ref: H }, persistence: 'store', size_mib: 1 },
};

describe('PROGRAM content', () => {
  test('a minimal program gets the reference defaults', () => {
    const c = parseContent('PROGRAM', minimalProgram);
    assert.deepEqual(c.environment, { reproducible: false, internet: false, aleph_api: false, shared_cache: false });
    assert.deepEqual(c.resources, { vcpus: 1, memory: 128, seconds: 1 });
    assert.deepEqual(c.volumes, []);
    assert.equal(c.code.use_latest, false);
    assert.equal(c.runtime.use_latest, true);
    assert.equal(programInterface(c.code), 'binary');
  });

  test('programInterface: explicit interface wins, else ":" means ASGI', () => {
    const code = parseContent('PROGRAM', minimalProgram).code;
    assert.equal(programInterface({ ...code, entrypoint: 'main:app' }), 'asgi');
    assert.equal(programInterface({ ...code, entrypoint: 'main:app', interface: 'binary' }), 'binary');
    assert.equal(programInterface({ ...code, entrypoint: 'run', interface: 'asgi' }), 'asgi');
  });

  test('required fields and enums', () => {
    rejects('PROGRAM', { ...minimalProgram, type: 'vm-persistent' }, 'type');
    const { allow_amend: _a, ...noAmend } = minimalProgram;
    rejects('PROGRAM', noAmend, 'allow_amend');
    rejects('PROGRAM', { ...minimalProgram, runtime: { ref: H } }, 'runtime.comment');
    rejects('PROGRAM', { ...minimalProgram, code: { ...minimalProgram.code, encoding: 'tar' } }, 'code.encoding');
    rejects('PROGRAM', { ...minimalProgram, code: { ...minimalProgram.code, ref: 'nope' } }, 'code.ref');
    rejects('PROGRAM', { ...minimalProgram, on: {} }, 'on.http');
  });

  test('a message subscription has at most 32 keys', () => {
    const sub = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]));
    assert.doesNotThrow(() => parseContent('PROGRAM', { ...minimalProgram, on: { http: false, message: [sub(32)] } }));
    rejects('PROGRAM', { ...minimalProgram, on: { http: false, message: [sub(33)] } });
  });

  test('common executable limits: metadata, authorized_keys, replaces, published ports', () => {
    const meta = Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`m${i}`, i]));
    rejects('PROGRAM', { ...minimalProgram, metadata: meta }, 'metadata');
    rejects('PROGRAM', { ...minimalProgram, authorized_keys: ['k'.repeat(8193)] });
    rejects('PROGRAM', { ...minimalProgram, authorized_keys: Array.from({ length: 257 }, () => 'k') });
    rejects('PROGRAM', { ...minimalProgram, replaces: 'r'.repeat(129) });
    rejects('PROGRAM', { ...minimalProgram, resources: { published_ports: [{ protocol: 'sctp', port: 80 }] } });
    rejects('PROGRAM', { ...minimalProgram, resources: { published_ports: [{ protocol: 'tcp', port: 65_536 }] } });
    const ok = parseContent('PROGRAM', { ...minimalProgram, resources: { vcpus: 2, published_ports: [{ protocol: 'udp', port: 53 }] } });
    assert.deepEqual(ok.resources, { vcpus: 2, memory: 128, seconds: 1, published_ports: [{ protocol: 'udp', port: 53 }] });
  });

  test('resources bounds', () => {
    rejects('PROGRAM', { ...minimalProgram, resources: { vcpus: 257 } });
    rejects('PROGRAM', { ...minimalProgram, resources: { memory: 1_048_577 } });
    rejects('PROGRAM', { ...minimalProgram, resources: { seconds: 1.5 } });
    assert.doesNotThrow(() => parseContent('PROGRAM', { ...minimalProgram, resources: { vcpus: 256, memory: 1_048_576, seconds: 315_360_000 } }));
  });
});

describe('INSTANCE content', () => {
  test('a minimal instance gets its defaults', () => {
    const c = parseContent('INSTANCE', minimalInstance);
    assert.deepEqual(c.environment, { internet: false, aleph_api: false, reproducible: false, shared_cache: false });
    assert.equal(c.rootfs.parent.use_latest, true);
    assert.deepEqual(c.resources, { vcpus: 1, memory: 128, seconds: 1 });
  });

  test('rootfs bounds and persistence', () => {
    rejects('INSTANCE', { ...minimalInstance, rootfs: { ...minimalInstance.rootfs, size_mib: 0 } });
    rejects('INSTANCE', { ...minimalInstance, rootfs: { ...minimalInstance.rootfs, size_mib: 2_097_153 } });
    rejects('INSTANCE', { ...minimalInstance, rootfs: { ...minimalInstance.rootfs, persistence: 'cloud' } });
  });

  test('trusted_execution rejects unknown keys and defaults policy to 1', () => {
    const env = { hypervisor: 'qemu', trusted_execution: { firmware: H } };
    const c = parseContent('INSTANCE', { ...minimalInstance, environment: env });
    assert.deepEqual(c.environment.trusted_execution, { firmware: H, policy: 1 });
    rejects('INSTANCE', { ...minimalInstance, environment: { hypervisor: 'qemu', trusted_execution: { sev: true } } });
  });

  test('requirement validators do not run without requirements (credit instance without node_hash is valid)', () => {
    assert.doesNotThrow(() => parseContent('INSTANCE', { ...minimalInstance, payment: { type: 'credit' } }));
    assert.doesNotThrow(() => parseContent('INSTANCE', { ...minimalInstance, payment: { type: 'superfluid', receiver: '0x' } }));
    rejects('INSTANCE', { ...minimalInstance, payment: { type: 'superfluid' }, requirements: { cpu: {} } }, 'requirements.node.node_hash');
    rejects('INSTANCE', { ...minimalInstance, payment: { type: 'gold' } }, 'payment.type');
  });

  test('GPU entries are strict and need a known device class', () => {
    const gpu = { vendor: 'NVIDIA', device_name: 'RTX', device_class: '0300', device_id: '10de:2684' };
    const env = { hypervisor: 'qemu' };
    const node = { node_hash: H };
    assert.doesNotThrow(() => parseContent('INSTANCE', { ...minimalInstance, environment: env, requirements: { node, gpu: [gpu] } }));
    rejects('INSTANCE', { ...minimalInstance, environment: env, requirements: { node, gpu: [{ ...gpu, device_class: '0200' }] } });
    rejects('INSTANCE', { ...minimalInstance, environment: env, requirements: { node, gpu: [{ ...gpu, vram: 24 }] } });
  });
});

describe('volumes', () => {
  const parseVolumes = (volumes: unknown[]): Volume[] => parseContent('INSTANCE', { ...minimalInstance, volumes }).volumes;

  test('the three kinds are told apart', () => {
    const [imm, eph, per] = parseVolumes([
      { ref: H, mount: '/opt' },
      { ephemeral: true, size_mib: 10, mount: '/tmp' },
      { persistence: 'host', name: 'data', size_mib: 100, mount: '/data', parent: { ref: H } },
    ]);
    assert.ok(imm && eph && per);
    assert.ok(isImmutableVolume(imm) && !isEphemeralVolume(imm) && !isPersistentVolume(imm));
    assert.ok(isEphemeralVolume(eph) && !isImmutableVolume(eph) && !isPersistentVolume(eph));
    assert.ok(isPersistentVolume(per) && !isImmutableVolume(per) && !isEphemeralVolume(per));
    assert.equal((imm as { use_latest: boolean }).use_latest, true, 'immutable use_latest defaults to true');
  });

  test('bad volumes are rejected', () => {
    for (const bad of [
      { ref: 'nope' },
      { ephemeral: false, size_mib: 10 },
      { ephemeral: true, size_mib: 0 },
      { size_mib: 2_097_153 },
      { persistence: 'host' }, // no size
      { ref: H, mount: 'm'.repeat(257) },
      { ref: H, unknown: true },
    ]) {
      rejects('INSTANCE', { ...minimalInstance, volumes: [bad] });
    }
    rejects('INSTANCE', { ...minimalInstance, volumes: Array.from({ length: 257 }, () => ({ ref: H })) });
  });
});

describe('POST, AGGREGATE, STORE, FORGET content', () => {
  test('POST ref may be a string or a chain ref', () => {
    assert.doesNotThrow(() => parseContent('POST', { ...base, type: 'amend', ref: { chain: 'ETH', item_hash: H } }));
    rejects('POST', { ...base, type: '' }, 'type');
    rejects('POST', { ...base, type: 'amend', ref: 42 });
  });

  test('AGGREGATE key as string or {name}; content must be an object', () => {
    const a = parseContent('AGGREGATE', { ...base, key: 'profile', content: {} });
    const b = parseContent('AGGREGATE', { ...base, key: { name: 'profile' }, content: { x: 1 } });
    assert.equal(aggregateKeyName(a.key), 'profile');
    assert.equal(aggregateKeyName(b.key), 'profile');
    rejects('AGGREGATE', { ...base, key: { name: 'p', extra: 1 }, content: {} });
    rejects('AGGREGATE', { ...base, key: 'k', content: [1] });
    rejects('AGGREGATE', { ...base, key: 'k' });
  });

  test('STORE payment only allows hold and credit, and no extra keys', () => {
    const store = { ...base, item_type: 'storage', item_hash: H };
    assert.doesNotThrow(() => parseContent('STORE', { ...store, payment: { type: 'credit' } }));
    rejects('STORE', { ...store, payment: { type: 'superfluid' } });
    rejects('STORE', { ...store, payment: { type: 'hold', amount: 1 } });
    rejects('STORE', { ...store, size: -1 });
  });

  test('FORGET: aggregate keys are any strings (reference quirk), reason ≤ 1000 characters', () => {
    const c = parseContent('FORGET', { ...base, hashes: [], aggregates: ['profile', 'settings'] });
    assert.deepEqual(c.aggregates, ['profile', 'settings']);
    rejects('FORGET', { ...base, hashes: [H], reason: 'r'.repeat(1001) });
    rejects('FORGET', { ...base, aggregates: ['x'] }, 'hashes');
  });

  test('base fields: address required, time within bounds', () => {
    rejects('POST', { time: base.time, type: 't' }, 'address');
    rejects('POST', { ...base, time: -1, type: 't' }, 'time');
    rejects('POST', { ...base, time: 9_223_372_037, type: 't' }, 'time');
  });

  test('an unknown type is a ProtocolError, not a TypeError', () => {
    for (const type of ['VOTE', '__proto__', 'toString']) {
      assert.throws(
        () => parseContent(type as MessageType, base),
        (e) => e instanceof ProtocolError && e.code === 'UNKNOWN_MESSAGE_TYPE',
      );
    }
  });
});
