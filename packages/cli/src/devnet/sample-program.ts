/**
 * The devnet's sample program: a zip holding one Node.js HTTP server on port 8080 that answers
 * with its variables and where it runs, published like any user's program.
 */
import { buildInlineMessage, sha256Hex, type EthAccount } from '@aleph-nodes/protocol';
import yazl from 'yazl';
import { publishMessage, uploadStoredFile } from '../common/ccn-client.ts';

const MAIN_MJS = `import { createServer } from 'node:http';
import { hostname, release } from 'node:os';

// Programs listen on port 8080, on every address, so the node can reach them.
createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({
    greeting: process.env.GREETING ?? null,
    method: req.method,
    path: req.url,
    hostname: hostname(),
    kernel: release(),
  }) + '\\n');
}).listen(8080, '0.0.0.0');
`;

/** A zip of the given files (all executable), with a fixed mtime so that its hash is stable. */
export function buildZip(files: Record<string, string>): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const zip = new yazl.ZipFile();
    for (const [name, text] of Object.entries(files)) {
      zip.addBuffer(Buffer.from(text), name, { mtime: new Date('2026-01-01T00:00:00Z'), mode: 0o100755 });
    }
    zip.end();
    const chunks: Buffer[] = [];
    zip.outputStream.on('data', (c: Buffer) => chunks.push(c));
    zip.outputStream.on('error', reject);
    zip.outputStream.on('end', () => resolve(new Uint8Array(Buffer.concat(chunks))));
  });
}

export function buildSampleZip(): Promise<Uint8Array> {
  return buildZip({ 'main.mjs': MAIN_MJS });
}

/** Uploads bytes with a signed STORE message; returns the STORE message's item hash. */
export async function storeFile(ccnUrl: string, account: EthAccount, bytes: Uint8Array, channel: string): Promise<string> {
  const store = buildInlineMessage(account, 'STORE', { item_type: 'storage', item_hash: sha256Hex(bytes) }, { channel });
  await uploadStoredFile(ccnUrl, bytes, store);
  return store.item_hash;
}

export interface ProgramSpec {
  codeRef: string;
  runtimeRef: string;
  name: string;
  entrypoint: string;
  variables?: Record<string, string>;
  persistent?: boolean;
  /** Guest memory (default 128 MiB, as aleph's programs). */
  memoryMib?: number;
}

/** Publishes an on-demand (or persistent) PROGRAM running `entrypoint` from a zip; returns its hash. */
export async function publishProgram(ccnUrl: string, account: EthAccount, spec: ProgramSpec, channel: string): Promise<string> {
  const program = buildInlineMessage(
    account,
    'PROGRAM',
    {
      type: 'vm-function',
      allow_amend: false,
      metadata: { name: spec.name },
      on: { http: true, persistent: spec.persistent === true },
      environment: { reproducible: false, internet: false, aleph_api: false, shared_cache: false },
      resources: { vcpus: 1, memory: spec.memoryMib ?? 128, seconds: 30 },
      runtime: { ref: spec.runtimeRef, use_latest: true, comment: 'devnet Node.js runtime' },
      volumes: [],
      variables: spec.variables ?? {},
      code: { encoding: 'zip', entrypoint: spec.entrypoint, ref: spec.codeRef, use_latest: false },
    },
    { channel },
  );
  await publishMessage(ccnUrl, program);
  return program.item_hash;
}

export function publishSampleProgram(ccnUrl: string, account: EthAccount, refs: { codeRef: string; runtimeRef: string }, channel: string): Promise<string> {
  return publishProgram(ccnUrl, account, { ...refs, name: 'devnet-sample', entrypoint: 'main.mjs', variables: { GREETING: 'hello from the devnet' } }, channel);
}
