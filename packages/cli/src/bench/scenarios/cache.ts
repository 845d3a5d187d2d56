/**
 * Cache, `process` executor: the first start of a program, which downloads its runtime and code
 * from the CCN (and unpacks the code), against starts of never-seen programs with the same
 * runtime and code, found in the CRN's cache. The code carries an 8 MiB asset (incompressible
 * text) so that the download is not negligible; the process runtime itself is a small
 * descriptor. The microvm variant (56 MiB runtime) comes from the microvm scenarios.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EthAccount } from '@aleph-nodes/protocol';
import { publishRuntime } from '../../devnet/runtime.ts';
import { buildZip, publishProgram, storeFile } from '../../devnet/sample-program.ts';
import type { Figure } from '../report.ts';
import { nowMs } from '../stats.ts';
import type { BenchContext } from './context.ts';
import { ECHO_MJS, startNetwork } from './network.ts';

const ASSET_BYTES = 6 * 1024 * 1024; // base64: 8 MiB of text

export async function benchCache(ctx: BenchContext): Promise<Figure[]> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-cache-'));
  try {
    // Every copy stays running (idle timeout one hour): allow more vCPUs than the host has.
    const net = await startNetwork(ctx, dir, 'process', { vcpuOvercommit: 8 });
    try {
      const user = EthAccount.generate();
      const runtimeRef = await publishRuntime(net.ccn.url, user, 'process', 'BENCH', ctx.logger);
      const zip = await buildZip({ 'main.mjs': ECHO_MJS, 'asset.txt': randomBytes(ASSET_BYTES).toString('base64') });
      const codeRef = await storeFile(net.ccn.url, user, zip, 'BENCH');
      const starts = ctx.quick ? 3 : 6;
      const times: number[] = [];
      for (let i = 0; i < starts; i++) {
        const hash = await publishProgram(net.ccn.url, user, { codeRef, runtimeRef, name: `bench-cache-${i}`, entrypoint: 'main.mjs' }, 'BENCH');
        const start = nowMs();
        const res = await fetch(`${net.crn.url}/vm/${hash}/`, { method: 'POST', body: 'cache' });
        const body = await res.text();
        if (res.status !== 200 || body !== 'cache') throw new Error(`program ${i} answered ${res.status}: ${body.slice(0, 200)}`);
        times.push(nowMs() - start);
      }
      const first = times[0] as number;
      const cached = [...times.slice(1)].sort((a, b) => a - b)[Math.floor((times.length - 1) / 2)] as number;
      return [
        {
          id: 'crn.cache.process.cached_start_ms',
          title: `process: start with runtime and code cached (median of ${times.length - 1}) vs first start downloading them (${(zip.length / 1048576).toFixed(1)} MiB zip)`,
          unit: 'ms',
          value: cached,
          baseline: first,
          ratio: cached / first,
        },
      ];
    } finally {
      await net.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
