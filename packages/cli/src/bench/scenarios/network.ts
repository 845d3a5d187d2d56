/**
 * A small network for the CRN scenarios: one CCN and one CRN as child processes on loopback, the
 * runtime of the chosen executor published, and an echo program (the same code for every copy).
 */
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { EthAccount } from '@aleph-nodes/protocol';
import { startChildNode, type ChildNode } from '../../common/child-node.ts';
import { publishPythonRuntime, publishRuntime } from '../../devnet/runtime.ts';
import { buildZip, publishProgram, storeFile } from '../../devnet/sample-program.ts';
import type { BenchContext } from './context.ts';

/** Echoes the request body; any path, any method. */
export const ECHO_MJS = `import { createServer } from 'node:http';
createServer((req, res) => {
  res.setHeader('content-type', 'application/octet-stream');
  req.pipe(res);
}).listen(8080, '0.0.0.0');
`;

/** The same echo as a FastAPI program (aleph's Python programs are FastAPI apps), `main:app`. */
export const ECHO_PY = `from fastapi import FastAPI, Request
from fastapi.responses import Response

app = FastAPI()


@app.post("/")
async def echo(request: Request):
    return Response(await request.body(), media_type="application/octet-stream")
`;

export interface BenchNetwork {
  ccn: ChildNode;
  crn: ChildNode;
  /** The CRN's data directory (its QEMU command lines mention it). */
  crnDataDir: string;
  crnLog: string;
  executor: string;
  stop(): Promise<void>;
}

export async function startNetwork(ctx: BenchContext, dir: string, executor: string, crnSettings: Record<string, unknown> = {}): Promise<BenchNetwork> {
  const ccnConfig = join(dir, 'ccn.json');
  // Speed, not payments (the crn-payments scenario measures those): the bench user holds no tokens.
  // The Python runtime (~106 MiB) is above the default upload limit, as on the devnet.
  writeFileSync(ccnConfig, JSON.stringify({ host: '127.0.0.1', port: 0, p2pPort: 0, dataDir: join(dir, 'ccn'), logLevel: 'info', paymentChecks: false, maxSignedUploadBytes: 1024 * 1024 * 1024 }));
  const ccn = await startChildNode({ kind: 'ccn', label: 'bench-ccn', args: ['--config', ccnConfig], logFile: join(dir, 'ccn.log'), binDir: ctx.binDir, readyTimeoutMs: 60_000 });
  const crnConfig = join(dir, 'crn.json');
  const crnDataDir = join(dir, 'crn');
  const crnLog = join(dir, 'crn.log');
  // One owner publishes every copy and the VMs must stay warm for the whole run: the per-owner caps
  // and the short idle of unpaid on-demand programs (a fair share for strangers) are lifted here.
  // The bench owner holds no tokens: payments are not enforced (their cost is the payments scenario's).
  const benchOwner = { unpaidIdleTimeoutSeconds: 3600, ownerOnDemandVcpusShare: 1, ownerOnDemandMemoryShare: 1, ownerOnDemandMaxExecutions: 100_000, enforcePayments: false };
  writeFileSync(crnConfig, JSON.stringify({ host: '127.0.0.1', port: 0, dataDir: crnDataDir, ccn: ccn.url, executor, logLevel: 'info', idleTimeoutSeconds: 3600, ...benchOwner, ...crnSettings }));
  try {
    // microvm: the guest images are found in their cache, and the accelerator probed (a boot).
    const crn = await startChildNode({ kind: 'crn', label: 'bench-crn', args: ['--config', crnConfig], logFile: crnLog, binDir: ctx.binDir, readyTimeoutMs: 300_000 });
    return {
      ccn,
      crn,
      crnDataDir,
      crnLog,
      executor,
      async stop() {
        await crn.stop(60_000);
        await ccn.stop();
      },
    };
  } catch (err) {
    await ccn.stop();
    throw err;
  }
}

/** The echo program's code and runtime, published once; `program()` publishes one more copy. */
export async function publishEcho(ctx: BenchContext, net: BenchNetwork): Promise<{ program(name: string): Promise<string> }> {
  const user = EthAccount.generate();
  const runtimeRef = await publishRuntime(net.ccn.url, user, net.executor, 'BENCH', ctx.logger);
  const codeRef = await storeFile(net.ccn.url, user, await buildZip({ 'main.mjs': ECHO_MJS }), 'BENCH');
  return { program: (name) => publishProgram(net.ccn.url, user, { codeRef, runtimeRef, name, entrypoint: 'main.mjs' }, 'BENCH') };
}

/** The FastAPI echo on the Python runtime (microvm executor only), with `memoryMib` of guest memory. */
export async function publishPythonEcho(ctx: BenchContext, net: BenchNetwork, memoryMib: number): Promise<{ program(name: string): Promise<string> }> {
  const user = EthAccount.generate();
  const runtimeRef = await publishPythonRuntime(net.ccn.url, user, 'BENCH', ctx.logger);
  const codeRef = await storeFile(net.ccn.url, user, await buildZip({ 'main.py': ECHO_PY }), 'BENCH');
  return { program: (name) => publishProgram(net.ccn.url, user, { codeRef, runtimeRef, name, entrypoint: 'main:app', memoryMib }, 'BENCH') };
}

/** The guest address the CRN reports for a running program (execution list). */
export async function programAddress(net: BenchNetwork, hash: string): Promise<string> {
  const list = (await (await fetch(`${net.crn.url}/v2/about/executions/list`)).json()) as Record<string, { networking?: { ipv4_ip?: string } }>;
  const ip = list[hash]?.networking?.ipv4_ip;
  if (!ip) throw new Error(`the CRN does not report the address of program ${hash}`);
  return ip;
}

/** The accelerator the CRN's microvm executor chose, from its log ("microvm executor ready"). */
export function crnAccelerator(logText: string): string | undefined {
  for (const line of logText.split('\n')) {
    try {
      const entry = JSON.parse(line) as { msg?: string; accelerator?: string; reason?: string };
      if (entry.msg === 'microvm executor ready' && entry.accelerator) return entry.accelerator;
    } catch {
      // not JSON
    }
  }
  return undefined;
}
