/** Shared set-up of the microVM integration tests: images, resource counting, a zipped program. */
import { execFileSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import yazl from 'yazl';
import { buildImages } from '@aleph-nodes/guest/build';
import type { GuestImages } from '@aleph-nodes/guest/build';
import type { MicroVmExecutor } from '../../packages/vmm/src/microvm/microvm-executor.ts';

/** Builds the images once per test file (seconds when cached). */
export function guestImages(): Promise<GuestImages> {
  return buildImages({ progress: (line) => process.stderr.write(`# ${line}\n`) });
}

export function tapNames(prefix: string): string[] {
  return readdirSync('/sys/class/net').filter((name) => name.startsWith(prefix)).sort();
}

/** QEMU processes whose command line mentions `marker` (our run directory). */
export function qemuProcesses(marker: string): number[] {
  let out = '';
  try {
    out = execFileSync('pgrep', ['-f', `qemu-system-x86_64.*${marker}`], { encoding: 'utf8' });
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
  return out.split('\n').filter(Boolean).map(Number);
}

export function dirEntries(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

export function zipFiles(files: Record<string, string>): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const zip = new yazl.ZipFile();
    for (const [name, content] of Object.entries(files)) zip.addBuffer(Buffer.from(content), name);
    zip.end();
    const chunks: Buffer[] = [];
    zip.outputStream.on('data', (c: Buffer) => chunks.push(c));
    zip.outputStream.on('error', reject);
    zip.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
  });
}

export const HTTP_SERVER = `
const http = require('node:http');
const os = require('node:os');
console.log('server starting with GREETING=' + process.env.GREETING);
console.error('a line on stderr');
const net = require('node:net');
http.createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  const url = new URL(req.url, 'http://guest');
  if (url.pathname === '/connect') {
    // Tries a TCP connection from inside the VM (isolation checks).
    const socket = net.connect({ host: url.searchParams.get('host'), port: Number(url.searchParams.get('port')) });
    const answer = (result) => { socket.destroy(); res.end(JSON.stringify({ result })); };
    socket.setTimeout(3000, () => answer('timeout'));
    socket.once('connect', () => answer('connected'));
    socket.once('error', (err) => answer(err.code));
    return;
  }
  res.end(JSON.stringify({ release: os.release(), greeting: process.env.GREETING, hostname: os.hostname(), path: req.url }));
}).listen(8080, () => console.log('listening on 8080'));
`;

/** What a microVM test leaves: its executor's VMs, the executor, its nft table, then `dirs`. */
export async function disposeExecutor(executor: MicroVmExecutor | undefined, ...dirs: string[]): Promise<void> {
  await executor?.cleanupOrphans(new Set());
  await executor?.close();
  await executor?.firewall?.remove();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
}
