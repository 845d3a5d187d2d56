/**
 * CCN file throughput, each figure against its own baseline measured in the same run, on the
 * same bytes and the same disk:
 * - upload: a signed upload to `/api/v0/storage/add_file` (multipart: the STORE message, then
 *   the file streamed from a file on disk) against a streamed copy of that file with one fsync;
 * - download: `/api/v0/storage/raw/{hash}` against a streamed read of the very file the node
 *   serves (its copy in the node's file store).
 * The client is plain `node:http` writing and reading the socket, so the figures measure the node
 * rather than a client's body encoding. Every trial uses fresh bytes (no upload finds its file
 * already stored); a figure is the median of the trials, its baseline the median of the
 * baselines measured between them.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { buildInlineMessage, EthAccount, sha256Hex, type AlephMessage } from '@aleph-nodes/protocol';
import { startChildNode } from '../../common/child-node.ts';
import type { Figure } from '../report.ts';
import { nowMs } from '../stats.ts';
import type { BenchContext } from './context.ts';

const MiB = 1024 * 1024;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Seconds to copy `source` to a new file in `dir` as a stream and fsync it once. */
async function streamedCopySeconds(dir: string, source: string): Promise<number> {
  const target = join(dir, 'copy.bin');
  const start = nowMs();
  await pipeline(createReadStream(source), createWriteStream(target));
  const handle = await open(target, 'r+');
  await handle.sync();
  await handle.close();
  const seconds = (nowMs() - start) / 1000;
  rmSync(target);
  return seconds;
}

/** Seconds to read `path` as a stream. */
async function streamedReadSeconds(path: string, size: number): Promise<number> {
  const start = nowMs();
  let read = 0;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) read += chunk.length;
  const seconds = (nowMs() - start) / 1000;
  if (read !== size) throw new Error(`read ${read} bytes of ${size} from ${path}`);
  return seconds;
}

async function readAll(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of res as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

/** Seconds of a signed upload of `source` (`size` bytes), the file part streamed from disk. */
async function uploadSeconds(ccnUrl: string, source: string, size: number, store: AlephMessage): Promise<number> {
  const boundary = `bench${randomBytes(12).toString('hex')}`;
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n${JSON.stringify({ message: store, sync: true })}\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="blob"\r\nContent-Type: application/octet-stream\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const url = new URL('/api/v0/storage/add_file', ccnUrl);
  const start = nowMs();
  const answer = new Promise<IncomingMessage>((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': head.length + size + tail.length } }, resolve);
    req.on('error', reject);
    req.write(head);
    const file = createReadStream(source);
    file.on('error', (err) => req.destroy(err));
    file.on('end', () => req.end(tail));
    file.pipe(req, { end: false });
  });
  const res = await answer;
  const body = await readAll(res);
  const seconds = (nowMs() - start) / 1000;
  if (res.statusCode !== 200) throw new Error(`upload answered ${res.statusCode}: ${body.slice(0, 300)}`);
  return seconds;
}

/** Seconds to download `hash` (checking its length and Content-Length). */
async function downloadSeconds(ccnUrl: string, hash: string, size: number): Promise<number> {
  const start = nowMs();
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = httpRequest(new URL(`/api/v0/storage/raw/${hash}`, ccnUrl), resolve);
    req.on('error', reject);
    req.end();
  });
  let received = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) received += chunk.length;
  const seconds = (nowMs() - start) / 1000;
  if (res.statusCode !== 200 || received !== size || res.headers['content-length'] !== String(size)) {
    throw new Error(`download answered ${res.statusCode} with ${received} bytes (Content-Length ${res.headers['content-length']}) of ${size}`);
  }
  return seconds;
}

export async function benchCcnFiles(ctx: BenchContext): Promise<Figure[]> {
  // At most 24 MiB: a signed STORE past 25 MiB needs a balance (pricing), which the bench account has not.
  const size = (ctx.quick ? 16 : 24) * MiB;
  const trials = ctx.quick ? 3 : 7;
  const dir = mkdtempSync(join(tmpdir(), 'bench-files-'));
  try {
    const config = join(dir, 'config.json');
    const dataDir = join(dir, 'ccn');
    writeFileSync(config, JSON.stringify({ host: '127.0.0.1', port: 0, p2pPort: 0, dataDir, logLevel: 'info' }));
    const ccn = await startChildNode({ kind: 'ccn', label: 'ccn-files', args: ['--config', config], logFile: join(dir, 'node.log'), binDir: ctx.binDir, readyTimeoutMs: 60_000 });
    const samples = { copy: [] as number[], upload: [] as number[], read: [] as number[], download: [] as number[] };
    try {
      const account = EthAccount.generate();
      for (let i = 0; i < trials; i++) {
        const data = randomBytes(size);
        const source = join(dir, 'source.bin');
        writeFileSync(source, data);
        const hash = sha256Hex(data);
        samples.copy.push(await streamedCopySeconds(dir, source));
        const store = buildInlineMessage(account, 'STORE', { item_type: 'storage', item_hash: hash }, { channel: 'BENCH' });
        samples.upload.push(await uploadSeconds(ccn.url, source, size, store));
        samples.read.push(await streamedReadSeconds(join(dataDir, 'files', hash.slice(0, 2), hash), size));
        samples.download.push(await downloadSeconds(ccn.url, hash, size));
      }
    } finally {
      await ccn.stop();
    }
    const rate = (seconds: number[]): number => size / MiB / median(seconds);
    const upload = rate(samples.upload);
    const copy = rate(samples.copy);
    const download = rate(samples.download);
    const read = rate(samples.read);
    const n = `${size / MiB} MiB, median of ${trials}`;
    return [
      { id: 'ccn.files.upload_mib_per_s', title: `CCN signed upload ${n} (vs streamed copy + fsync, same disk)`, unit: 'MiB/s', value: upload, baseline: copy, ratio: upload / copy },
      { id: 'ccn.files.download_mib_per_s', title: `CCN download ${n} (vs streamed read of the stored file)`, unit: 'MiB/s', value: download, baseline: read, ratio: download / read },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
