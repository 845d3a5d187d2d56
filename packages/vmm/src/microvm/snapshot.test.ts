import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { layoutMismatch, snapshotLayout } from './snapshot.ts';
import type { MicroVmOptions } from './vm-types.ts';

const options: MicroVmOptions = {
  id: 'snap',
  qemuPath: '/usr/bin/qemu-system-x86_64',
  accelerator: 'tcg',
  kvmCpu: 'host',
  kernel: '/img/vmlinuz',
  initramfs: '/img/initramfs',
  runtime: '/img/runtime.squashfs',
  vcpus: 1,
  memoryMib: 128,
  drives: [{ id: 'code', path: '/cache/code.squashfs', serial: 'aleph-code', readOnly: true }],
  guest: { code: { encoding: 'squashfs', serial: 'aleph-code' }, entrypoint: 'main.mjs', variables: {}, volumes: [] },
  runDir: '/run/vm',
};

describe('snapshot layout', () => {
  it('restores only into the machine shape the snapshot was taken of', () => {
    const layout = snapshotLayout(options);
    assert.equal(layoutMismatch(layout, { ...options, id: 'other' }), undefined, 'the id and network are the restore\'s own');
    assert.match(layoutMismatch(layout, { ...options, memoryMib: 256 }) ?? '', /memoryMib/);
    assert.match(layoutMismatch(layout, { ...options, accelerator: 'kvm' }) ?? '', /accelerator/);
    assert.match(layoutMismatch(layout, { ...options, runtime: '/img/python.squashfs' }) ?? '', /runtime/);
    assert.match(layoutMismatch(layout, { ...options, drives: [] }) ?? '', /drives/);
    assert.match(layoutMismatch(layout, { ...options, instance: { hostname: 'h', authorizedKeys: [], portForwards: [], volumes: [] } }) ?? '', /instances/);
  });
});
