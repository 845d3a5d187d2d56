/**
 * Runs the real Python clients (aleph-sdk-python, the `aleph` CLI of aleph-client), installed from
 * PyPI by scripts/setup-debian.sh in their venvs under /opt/aleph-py (`ALEPH_PY_ROOT` overrides),
 * against a node. Each run gets a fresh HOME (the CLI writes its config and keys there), removed
 * afterwards. Tools are run by absolute path, never looked up in PATH.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where scripts/setup-debian.sh makes the two venvs (test/code-health.test.ts checks that the script agrees). */
export const PY_VENVS = { root: '/opt/aleph-py', sdk: 'sdk', cli: 'cli' } as const;
export const ALEPH_PY_ROOT = process.env.ALEPH_PY_ROOT ?? PY_VENVS.root;
const SDK_PYTHON = join(ALEPH_PY_ROOT, PY_VENVS.sdk, 'bin/python');
const CLI_ALEPH = join(ALEPH_PY_ROOT, PY_VENVS.cli, 'bin/aleph');

/** Why the Python tests cannot run here, or undefined when they can (for `describe(…, { skip })`). */
export function pythonClientsSkipReason(): string | undefined {
  const missing = [SDK_PYTHON, CLI_ALEPH].filter((p) => !existsSync(p));
  if (missing.length === 0) return undefined;
  return `the Python clients are not installed (${missing.join(', ')} missing): run scripts/setup-debian.sh as root`;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A fresh secp256k1 private key, hex (any 32 random bytes below the curve order: overwhelmingly likely). */
export function randomPrivateKeyHex(): string {
  return randomBytes(32).toString('hex');
}

function run(file: string, args: string[], env: Record<string, string>, input?: string): Promise<RunResult> {
  const home = mkdtempSync(join(tmpdir(), 'aleph-py-home-'));
  return new Promise<RunResult>((resolve) => {
    const child = execFile(
      file,
      args,
      {
        // A minimal environment: the developer's own ALEPH_* settings or keys must not leak in.
        env: { HOME: home, PATH: '/usr/bin:/bin', LANG: 'C.UTF-8', PYTHONUNBUFFERED: '1', NO_COLOR: '1', COLUMNS: '200', ...env },
        timeout: 180_000,
        maxBuffer: 16 * 1024 * 1024,
        cwd: home,
      },
      (err, stdout, stderr) => {
        rmSync(home, { recursive: true, force: true });
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    if (input !== undefined) child.stdin?.end(input);
    else child.stdin?.end();
  });
}

/**
 * Runs a Python snippet with the SDK's interpreter. `API` (the node URL) and `KEY` (a hex private
 * key) are in its environment. The snippet prints ONE JSON document on its last stdout line: it is
 * parsed and returned; a failed run throws with the whole output, so a failing test shows the
 * route or shape at fault.
 */
export async function runSdk<T = unknown>(script: string, env: { API: string; KEY?: string; [k: string]: string | undefined }): Promise<T> {
  const res = await run(SDK_PYTHON, ['-'], definedOnly(env), script);
  const last = res.stdout.trim().split('\n').pop() ?? '';
  if (res.code !== 0) throw new Error(`python exited with ${res.code}\n--- stdout\n${res.stdout}\n--- stderr\n${res.stderr}`);
  try {
    return JSON.parse(last) as T;
  } catch {
    throw new Error(`python printed no JSON result\n--- stdout\n${res.stdout}\n--- stderr\n${res.stderr}`);
  }
}

/** Runs `aleph ARGS…` (aleph-client) against `apiHost`. */
export function runAlephCli(args: string[], apiHost: string, env: Record<string, string> = {}): Promise<RunResult> {
  return run(CLI_ALEPH, args, { ALEPH_API_HOST: apiHost, ...env });
}

/** The SDK preamble every snippet starts with: imports, the account from KEY, the client on API. */
export const SDK_PREAMBLE = `
import asyncio, json, os, sys
from aleph.sdk.chains.ethereum import ETHAccount
from aleph.sdk.client import AuthenticatedAlephHttpClient, AlephHttpClient
from aleph.sdk.query.filters import MessageFilter, PostFilter
from aleph_message.models import MessageType
from aleph_message.status import MessageStatus

def account():
    return ETHAccount(private_key=bytes.fromhex(os.environ["KEY"]))

def out(value):
    print(json.dumps(value, default=str))
`;

function definedOnly(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}
