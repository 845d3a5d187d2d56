/**
 * Snapshot restore against boot (packages/vmm/src/microvm/snapshot*.ts): one runtime VM boots to
 * its agent's hello and is saved; then `restores` VMs start from the file (load, identity
 * refresh, configuration, the echo program) and are timed to their program's first answer,
 * against a bare boot of the same images to the same app's first answer (bare-boot.ts).
 */
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yazl from 'yazl';
import { buildImages } from '@aleph-nodes/guest/build';
import { DEFAULT_TAP_POOL, hostTscKhz, MicroVm, type MicroVmOptions } from '@aleph-nodes/vmm';
import { prepareBareBoot } from '../bare-boot.ts';
import type { Figure } from '../report.ts';
import { nowMs } from '../stats.ts';
import { reserveRoutedSubnets } from '../subnets.ts';
import type { BenchContext } from './context.ts';
import { ECHO_MJS } from './network.ts';

const GUEST_MIB = 128;
/** Tap numbers of this scenario: apart from the CRN's (from 4) and the bare boots' (from 4000). */
const FIRST_TAP = 3900;

function zip(files: Record<string, string>): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const archive = new yazl.ZipFile();
    for (const [name, text] of Object.entries(files)) archive.addBuffer(Buffer.from(text), name);
    archive.end();
    const chunks: Buffer[] = [];
    archive.outputStream.on('data', (c: Buffer) => chunks.push(c));
    archive.outputStream.on('error', reject);
    archive.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
  });
}

const median = (values: number[]): number => {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

async function firstAnswer(url: string, deadline: number): Promise<void> {
  for (;;) {
    try {
      const res = await fetch(url, { method: 'POST', body: 'snap', signal: AbortSignal.timeout(2000) });
      if ((await res.text()) === 'snap') return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function benchSnapshot(ctx: BenchContext, plan: { restores: number } = { restores: 2 }): Promise<Figure[]> {
  const images = await buildImages();
  const dir = mkdtempSync(join(tmpdir(), 'bsnap-'));
  try {
    const leaseDir = join(dir, 'leases');
    reserveRoutedSubnets(leaseDir, FIRST_TAP, FIRST_TAP + 99);
    const runDir = join(dir, 'vm');
    mkdirSync(runDir);
    const code = (await zip({ 'main.mjs': ECHO_MJS })).toString('base64');
    const loads: number[] = [];
    const options = (id: string): MicroVmOptions => ({
      id,
      qemuPath: 'qemu-system-x86_64',
      accelerator: 'tcg',
      kvmCpu: 'host',
      tscKhz: hostTscKhz(),
      kernel: images.kernel,
      initramfs: images.initramfs,
      runtime: images.runtimes.node,
      vcpus: 1,
      memoryMib: GUEST_MIB,
      drives: [],
      guest: { code: { encoding: 'zip', zipBase64: code }, entrypoint: 'main.mjs', variables: {}, volumes: [] },
      network: { ...DEFAULT_TAP_POOL, prefix: 'bstap', firstId: FIRST_TAP, leaseDir },
      runDir,
      onEvent: (line) => {
        const m = /restored from a snapshot: loaded in (\d+) ms, identity refreshed in (\d+) ms/.exec(line);
        if (m) loads.push(Number(m[1]) + Number(m[2]));
      },
    });
    const source = new MicroVm(options('bench-snap-source'));
    await source.prepare();
    const bootStart = nowMs();
    const saved = await source.bootAndSnapshot(join(dir, 'runtime.snap'));
    const bootToHelloMs = nowMs() - bootStart - saved.saveMs;
    const answers: number[] = [];
    for (let i = 0; i < plan.restores; i++) {
      const vm = new MicroVm({ ...options(`bench-snap-${i}`), restore: { file: saved.file, layout: saved.layout } });
      try {
        await vm.prepare();
        const started = nowMs();
        await vm.boot();
        await firstAnswer(`http://${vm.tap!.guestIp}:8080/`, Date.now() + 120_000);
        answers.push(nowMs() - started);
      } finally {
        await vm.stop(5000);
      }
    }
    const bare = await prepareBareBoot({ images: { kernel: images.kernel, initramfs: images.initramfs, runtime: images.runtimes.node }, files: { 'main.mjs': ECHO_MJS }, workDir: dir, accelerator: 'tcg', memoryMib: GUEST_MIB });
    let bareMs: number;
    try {
      bareMs = (await bare.boot()).toFirstAnswerMs;
    } finally {
      bare.close();
    }
    const restoreMs = median(answers);
    const loadMs = median(loads);
    ctx.logger.info({ bootToHelloMs, saveMs: saved.saveMs, snapshotMib: saved.bytes / 1048576, loads, answers, bareMs }, 'snapshot bench');
    return [
      {
        id: 'crn.snapshot.restore_ms',
        title: `snapshot restore to the program's first answer (tcg, median of ${answers.length}: load, identity refresh, configuration, program start) vs bare QEMU boot to first answer`,
        unit: 'ms',
        value: restoreMs,
        baseline: bareMs,
        ratio: restoreMs / bareMs,
      },
      {
        id: 'crn.snapshot.load_ms',
        title: `snapshot load and identity refresh (QEMU start to a guest ready for its configuration, median of ${loads.length}) vs boot to the agent's hello`,
        unit: 'ms',
        value: loadMs,
        baseline: bootToHelloMs,
        ratio: loadMs / bootToHelloMs,
      },
      {
        id: 'crn.snapshot.save_ms',
        title: `snapshot save of a ${GUEST_MIB} MiB runtime VM (${(saved.bytes / 1048576).toFixed(0)} MiB file, fsynced)`,
        unit: 'ms',
        value: saved.saveMs,
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
