/**
 * Boot reliability measurement (not part of the test suite: it runs for minutes).
 *   node --import tsx test/guest/boot-loop.ts [count] [tcg|kvm]
 * Boots the probe guest (kernel + initramfs, exactly the production QEMU arguments) `count`
 * times, one at a time, and prints how many reached their init within 20 s.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImages } from '@aleph-nodes/guest/build';
import { bootProbeGuest, hostTscKhz } from '../../packages/vmm/src/microvm/index.ts';

const count = Number(process.argv[2] ?? 50);
const accelerator = process.argv[3] === 'kvm' ? 'kvm' : 'tcg';
const images = await buildImages();
const runDir = await mkdtemp(join(tmpdir(), 'gloop-'));
let ok = 0;
const times: number[] = [];
try {
  for (let i = 1; i <= count; i++) {
    const result = await bootProbeGuest(
      { qemuPath: 'qemu-system-x86_64', kernel: images.kernel, initramfs: images.initramfs, kvmCpu: 'host', tscKhz: hostTscKhz(), runDir, timeoutMs: 20_000 },
      accelerator,
    );
    if (result.ok) {
      ok++;
      times.push(result.ms);
    }
    console.log(`boot ${i}: ${result.ok ? 'ok' : 'FAILED'} ${result.ms} ms ${result.ok ? '' : result.detail}`);
  }
} finally {
  await rm(runDir, { recursive: true, force: true });
}
times.sort((a, b) => a - b);
console.log(`${ok}/${count} boots reached init; median ${times[Math.floor(times.length / 2)] ?? '-'} ms, max ${times[times.length - 1] ?? '-'} ms`);
