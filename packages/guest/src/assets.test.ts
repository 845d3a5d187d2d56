/**
 * The guest's shell scripts agree with the constants the host's TypeScript uses (protocol.ts):
 * a serial, a kernel argument, a marker or a path changed on one side only would leave VMs that
 * never boot or never report, found only by booting one.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  AGENT_BUNDLE_PATH,
  BARE_INIT_MARKER,
  INITRAMFS_LOG_PREFIX,
  KERNEL_ARG,
  PROBE_MARKER,
  ROOT_DRIVE_SERIAL,
  RUNTIME_INIT_PATH,
  SEED_CONF_FILE,
  SEED_DRIVE_SERIAL,
  SEED_KEYS_FILE,
} from './protocol.ts';

const asset = (name: string): string => readFileSync(new URL(`../assets/${name}`, import.meta.url), 'utf8');
const lines = (text: string): string[] => text.split('\n').map((l) => l.trim());
/** `aleph.mode=instance` → the `aleph.mode=` prefix and the value `instance`. */
const splitArg = (arg: string): [string, string] => {
  const i = arg.indexOf('=') + 1;
  return [arg.slice(0, i), arg.slice(i)];
};

describe('guest scripts and protocol.ts', () => {
  const initramfs = asset('initramfs-init.sh');
  const runtime = asset('runtime-init.sh');
  const instance = asset('instance/aleph-instance-init.sh');

  it('initramfs: the probe argument and marker', () => {
    assert.ok(initramfs.includes(`*" ${KERNEL_ARG.probe} "*) echo "${PROBE_MARKER}"; poweroff -f ;;`));
  });

  it('initramfs: the root drive serial, its kernel argument and the instance mode', () => {
    const l = lines(initramfs);
    assert.ok(l.includes(`root_serial=${ROOT_DRIVE_SERIAL}`));
    assert.ok(l.includes(`${KERNEL_ARG.rootSerial}*) root_serial="\${v#${KERNEL_ARG.rootSerial}}" ;;`));
    const [modeArg, instanceMode] = splitArg(KERNEL_ARG.instanceMode);
    assert.ok(l.includes(`${modeArg}*) mode="\${v#${modeArg}}" ;;`));
    assert.ok(l.includes(`if [ "$mode" = ${instanceMode} ]; then`));
  });

  it('initramfs: every console line carries the prefix the host watches for', () => {
    const echoes = lines(initramfs).filter((l) => l.startsWith('echo "') && !l.includes(PROBE_MARKER));
    assert.ok(echoes.length >= 4);
    for (const e of echoes) assert.ok(e.startsWith(`echo "${INITRAMFS_LOG_PREFIX} `), e);
    assert.ok(initramfs.includes(`echo "${INITRAMFS_LOG_PREFIX} FATAL: $*"`));
  });

  it('initramfs → runtime init → agent bundle', () => {
    assert.ok(lines(initramfs).includes(`exec switch_root /newroot ${RUNTIME_INIT_PATH}`));
    assert.ok(lines(initramfs).some((l) => l.startsWith(`[ -x /newroot${RUNTIME_INIT_PATH} ]`)));
    assert.ok(lines(runtime).some((l) => l.startsWith('exec ') && l.endsWith(`/usr/bin/node ${AGENT_BUNDLE_PATH}`)));
  });

  it('runtime init: the benchmark hook argument and marker', () => {
    assert.ok(runtime.includes(`${KERNEL_ARG.bareInit}*) bare="\${v#${KERNEL_ARG.bareInit}}" ;;`));
    assert.ok(runtime.includes(`echo "${BARE_INIT_MARKER} from `));
  });

  it('instance init: the seed drive serial and its two files', () => {
    assert.ok(instance.includes(`if [ "$(cat "$d/serial")" = ${SEED_DRIVE_SERIAL} ]; then`));
    assert.ok(instance.includes(`mcopy -n -i "$dev" ::${SEED_CONF_FILE} ::${SEED_KEYS_FILE} "$seed/"`));
    assert.ok(instance.includes(`done < "$seed/${SEED_CONF_FILE}"`));
    assert.ok(instance.includes(`cat "$seed/${SEED_KEYS_FILE}"`));
  });
});
