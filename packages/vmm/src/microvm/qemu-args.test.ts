import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildQemuArgs, DEFAULT_TCG_TB_MIB, kernelCommandLine, MAX_VIRTIO_DEVICES } from './qemu-args.ts';
import type { QemuArgsInput } from './qemu-args.ts';

const base: QemuArgsInput = {
  accelerator: 'tcg',
  kvmCpu: 'host',
  vcpus: 2,
  memoryMib: 512,
  kernel: '/img/vmlinuz',
  initramfs: '/img/initramfs.cpio.gz',
  consolePath: '/run/vm/console.log',
  qmpSocket: '/run/vm/qmp.sock',
  controlSocket: '/run/vm/control.sock',
  drives: [{ id: 'root', path: '/img/runtime.squashfs', serial: 'aleph-root', readOnly: true }],
  sandbox: true,
};

function valueAfter(args: string[], flag: string): string[] {
  return args.flatMap((a, i) => (a === flag ? [args[i + 1] ?? ''] : []));
}

describe('buildQemuArgs', () => {
  it('uses the microvm machine options and kernel arguments measured to boot reliably under TCG', () => {
    const args = buildQemuArgs({ ...base, tscKhz: 2599998 });
    assert.deepEqual(valueAfter(args, '-M'), ['microvm,x-option-roms=off,isa-serial=on,rtc=on,mem-merge=on']);
    assert.deepEqual(valueAfter(args, '-accel'), [`tcg,tb-size=${DEFAULT_TCG_TB_MIB}`], 'a bounded translation cache');
    assert.deepEqual(valueAfter(args, '-cpu'), [], 'TCG keeps the default CPU model');
    const cmdline = valueAfter(args, '-append')[0]!.split(' ');
    for (const arg of ['no_timer_check', 'tsc=reliable', 'lpj=5000000', 'console=ttyS0', 'panic=1', 'tsc_early_khz=2599998']) assert.ok(cmdline.includes(arg), arg);
    assert.ok(!cmdline.some((a) => a.startsWith('clocksource=')), 'clocksource=tsc brought hangs back');
    assert.ok(args.includes('-no-reboot'));
  });

  it('takes vCPUs and memory (MiB, not the reference MB quirk) from the resources', () => {
    const args = buildQemuArgs(base);
    assert.deepEqual(valueAfter(args, '-smp'), ['2']);
    assert.deepEqual(valueAfter(args, '-m'), ['512M']);
  });

  it('takes the configured TCG translation cache size, within bounds', () => {
    assert.deepEqual(valueAfter(buildQemuArgs({ ...base, tcgTbMib: 64 }), '-accel'), ['tcg,tb-size=64']);
    for (const bad of [0, 4, 1.5, 100_000]) assert.throws(() => buildQemuArgs({ ...base, tcgTbMib: bad }), /translation cache/);
  });

  it('selects KVM with the configured CPU model and no TSC hint', () => {
    const args = buildQemuArgs({ ...base, accelerator: 'kvm', kvmCpu: 'max', tscKhz: 2599998, tcgTbMib: 64 });
    assert.deepEqual(valueAfter(args, '-accel'), ['kvm'], 'no translation cache option on KVM');
    assert.deepEqual(valueAfter(args, '-cpu'), ['max']);
    assert.ok(!valueAfter(args, '-append')[0]!.includes('tsc_early_khz'));
  });

  it('attaches drives as virtio-blk with serials, read-only where immutable', () => {
    const args = buildQemuArgs({
      ...base,
      drives: [...base.drives, { id: 'vol0', path: '/data/a,b.img', serial: 'aleph-vol-0', readOnly: false }],
    });
    const drives = valueAfter(args, '-drive');
    assert.deepEqual(drives, [
      'id=root,file=/img/runtime.squashfs,format=raw,if=none,readonly=on',
      'id=vol0,file=/data/a,,b.img,format=raw,if=none,readonly=off',
    ]);
    const devices = valueAfter(args, '-device');
    assert.ok(devices.includes('virtio-blk-device,drive=root,serial=aleph-root'));
    assert.ok(devices.includes('virtio-blk-device,drive=vol0,serial=aleph-vol-0'));
  });

  it('adds the control port, the tap and the sandbox', () => {
    const args = buildQemuArgs({ ...base, tap: { ifname: 'vmtap4', mac: '52:54:00:00:00:04' } });
    const devices = valueAfter(args, '-device');
    assert.ok(devices.includes('virtserialport,chardev=control,name=org.aleph-nodes.control'));
    assert.ok(devices.includes('virtio-net-device,netdev=net0,mac=52:54:00:00:00:04'));
    assert.deepEqual(valueAfter(args, '-netdev'), ['tap,id=net0,ifname=vmtap4,script=no,downscript=no']);
    assert.match(valueAfter(args, '-sandbox')[0]!, /^on,/);
    assert.ok(valueAfter(args, '-chardev').includes('socket,id=control,path=/run/vm/control.sock,server=on,wait=off'), 'QEMU listens, the host connects');
    assert.ok(valueAfter(args, '-chardev').includes('file,id=console,path=/run/vm/console.log,append=on'), 'the console survives copy-truncate');
    assert.match(valueAfter(args, '-sandbox')[0]!, /elevateprivileges=deny/, 'without a jail nothing needs setuid');
  });

  it('jails QEMU: -runas the VM uid, -chroot its empty directory, the sandbox allowing only that drop', () => {
    const args = buildQemuArgs({ ...base, jail: { uid: 1900000004, gid: 1900000004, chrootDir: '/run/vm/jail' } });
    assert.deepEqual(valueAfter(args, '-runas'), ['1900000004:1900000004']);
    assert.deepEqual(valueAfter(args, '-chroot'), ['/run/vm/jail']);
    assert.equal(valueAfter(args, '-sandbox')[0], 'on,obsolete=deny,elevateprivileges=allow,spawn=deny,resourcecontrol=deny');
    assert.throws(() => buildQemuArgs({ ...base, jail: { uid: 0, gid: 0, chrootDir: '/x' } }), /unprivileged/);
  });

  it('refuses more virtio devices than microvm has transports', () => {
    const drives = Array.from({ length: MAX_VIRTIO_DEVICES }, (_, i) => ({ id: `d${i}`, path: `/x${i}`, serial: `s${i}`, readOnly: true }));
    assert.throws(() => buildQemuArgs({ ...base, drives }), /at most 8 virtio devices/);
  });

  it('puts the root serial on the kernel command line', () => {
    assert.match(kernelCommandLine(['quiet']), /aleph\.root_serial=aleph-root quiet$/);
  });
});
