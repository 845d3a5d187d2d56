/**
 * aleph's diagnostic program (aleph-vm `examples/example_fastapi`, kept unmodified in
 * test/fixtures/aleph-diagnostic/program) published on the Python runtime as aleph publishes it
 * (`aleph program upload example_fastapi main:app --persistent-volume
 * persistence=host,size_mib=1,mount=/var/lib/example,name=increment-storage`). The devnet's CRNs
 * call it from /status/check/fastapi (their `checkFastapiVmId`).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildInlineMessage, type EthAccount } from '@aleph-nodes/protocol';
import { publishMessage } from '../common/ccn-client.ts';
import { buildZip, storeFile } from './sample-program.ts';

export const DIAGNOSTIC_PROGRAM_DIR = fileURLToPath(new URL('../../../../test/fixtures/aleph-diagnostic/program', import.meta.url));

/** The program's files as aleph's client zips a directory: its files at the archive's root. */
export async function buildDiagnosticZip(dir = DIAGNOSTIC_PROGRAM_DIR): Promise<Uint8Array> {
  const files: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) files[name] = await readFile(join(dir, name), 'utf8');
  return buildZip(files);
}

export interface DiagnosticOptions {
  pythonRuntimeRef: string;
  /** Outbound internet for the VM (its /dns, /ip/4, /internet checks need it). */
  internet: boolean;
  channel: string;
}

/** Uploads the code and publishes the PROGRAM; returns the program's item hash. */
export async function publishDiagnosticProgram(ccnUrl: string, account: EthAccount, opts: DiagnosticOptions): Promise<string> {
  const codeRef = await storeFile(ccnUrl, account, await buildDiagnosticZip(), opts.channel);
  const program = buildInlineMessage(
    account,
    'PROGRAM',
    {
      type: 'vm-function',
      allow_amend: false,
      metadata: { name: 'example_fastapi' },
      on: { http: true, persistent: false },
      environment: { reproducible: false, internet: opts.internet, aleph_api: true, shared_cache: false },
      resources: { vcpus: 1, memory: 256, seconds: 30 },
      runtime: { ref: opts.pythonRuntimeRef, use_latest: true, comment: 'devnet Python runtime (aleph-debian-12-python)' },
      volumes: [{ comment: 'Persistence', mount: '/var/lib/example', name: 'increment-storage', persistence: 'host', size_mib: 1 }],
      variables: {},
      code: { encoding: 'zip', entrypoint: 'main:app', ref: codeRef, use_latest: false },
    },
    { channel: opts.channel },
  );
  await publishMessage(ccnUrl, program);
  return program.item_hash;
}
