/**
 * CCN file throughput: a signed upload to `/api/v0/storage/add_file` and a download from
 * `/api/v0/storage/raw/{hash}`, against a plain streamed copy of the same bytes on the same disk
 * (read, write, fsync), measured in the same run.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, fsyncSync, mkdtempSync, openSync, closeSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { buildInlineMessage, EthAccount, sha256Hex } from '@aleph-nodes/protocol';
import { startChildNode } from '../../common/child-node.ts';
import { uploadStoredFile } from '../../common/ccn-client.ts';
import type { Figure } from '../report.ts';
import { nowMs } from '../stats.ts';
import type { BenchContext } from './context.ts';

const MiB = 1024 * 1024;

async function plainCopyMiBps(dir: string, source: string, bytes: number): Promise<number> {
  const target = join(dir, 'copy.bin');
  const start = nowMs();
  await pipeline(createReadStream(source), createWriteStream(target));
  const fd = openSync(target, 'r+');
  fsyncSync(fd);
  closeSync(fd);
  const seconds = (nowMs() - start) / 1000;
  rmSync(target);
  return bytes / MiB / seconds;
}

export async function benchCcnFiles(ctx: BenchContext): Promise<Figure[]> {
  const size = (ctx.quick ? 16 : 64) * MiB;
  const dir = mkdtempSync(join(tmpdir(), 'bench-files-'));
  try {
    const data = randomBytes(size);
    const source = join(dir, 'source.bin');
    writeFileSync(source, data);
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({ host: '127.0.0.1', port: 0, p2pPort: 0, dataDir: join(dir, 'ccn'), logLevel: 'info' }));
    const ccn = await startChildNode({ kind: 'ccn', label: 'ccn-files', args: ['--config', config], logFile: join(dir, 'node.log'), binDir: ctx.binDir, readyTimeoutMs: 60_000 });
    try {
      const copy = await plainCopyMiBps(dir, source, size);
      const account = EthAccount.generate();
      const hash = sha256Hex(data);
      const store = buildInlineMessage(account, 'STORE', { item_type: 'storage', item_hash: hash }, { channel: 'BENCH' });
      let start = nowMs();
      await uploadStoredFile(ccn.url, data, store);
      const upload = size / MiB / ((nowMs() - start) / 1000);
      start = nowMs();
      const res = await fetch(`${ccn.url}/api/v0/storage/raw/${hash}`);
      let received = 0;
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) received += chunk.length;
      const download = received / MiB / ((nowMs() - start) / 1000);
      if (received !== size) throw new Error(`downloaded ${received} bytes of ${size}`);
      return [
        { id: 'ccn.files.upload_mib_per_s', title: `CCN upload ${size / MiB} MiB (vs plain copy on the same disk)`, unit: 'MiB/s', value: upload, baseline: copy, ratio: upload / copy },
        { id: 'ccn.files.download_mib_per_s', title: `CCN download ${size / MiB} MiB (vs plain copy on the same disk)`, unit: 'MiB/s', value: download, baseline: copy, ratio: download / copy },
      ];
    } finally {
      await ccn.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
