/**
 * `/status/check/fastapi`: calls aleph's diagnostic program (aleph-vm `examples/example_fastapi`,
 * the PROGRAM named by the `checkFastapiVmId` setting) through this node's own `/vm/{hash}` route,
 * with the paths, expectations, order and result keys of aleph-vm's `orchestrator/status.py`.
 * The network's monitors read exactly this body. A check the program fails in any way (an error
 * status, a body of another shape, a timeout) is `false`, never an error of this route.
 */

/**
 * aleph-vm's client timeout (aiohttp's default, 5 minutes a call): the first call may boot the
 * program's VM, minutes under emulation on a loaded host.
 */
const CALL_TIMEOUT_MS = 300_000;

/** The program's answers are a guest's bytes: larger ones fail their check instead of filling memory. */
const MAX_ANSWER_BYTES = 1024 * 1024;

type Json = unknown;

async function boundedText(res: Response, max: number): Promise<string | undefined> {
  const reader = res.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > max) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

interface Answer {
  status: number;
  text: string;
}

function isObject(value: Json): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export class DiagnosticClient {
  constructor(
    private readonly vmUrl: string,
    private readonly timeoutMs = CALL_TIMEOUT_MS,
  ) {}

  async call(path: string, method: 'GET' | 'POST' = 'GET'): Promise<Answer | undefined> {
    try {
      const res = await fetch(`${this.vmUrl}${path}`, { method, signal: AbortSignal.timeout(this.timeoutMs), redirect: 'manual' });
      const text = await boundedText(res, MAX_ANSWER_BYTES);
      return text === undefined ? undefined : { status: res.status, text };
    } catch {
      return undefined;
    }
  }

  /** The JSON of a 2xx answer (aleph-vm's `raise_for_status` then `json()`), else undefined. */
  async json(path: string): Promise<Json | undefined> {
    const answer = await this.call(path);
    if (!answer || answer.status < 200 || answer.status >= 300) return undefined;
    try {
      return JSON.parse(answer.text) as Json;
    } catch {
      return undefined;
    }
  }
}

const ENVIRON_KEYS = ['ALEPH_API_HOST', 'ALEPH_API_UNIX_SOCKET', 'ALEPH_REMOTE_CRYPTO_HOST', 'ALEPH_REMOTE_CRYPTO_UNIX_SOCKET', 'ALEPH_ADDRESS_TO_USE'];

async function checkIndex(c: DiagnosticClient): Promise<boolean> {
  const body = await c.json('/');
  return isObject(body) && body.Example === 'example_fastapi';
}

async function checkEnviron(c: DiagnosticClient): Promise<boolean> {
  const body = await c.json('/environ');
  return isObject(body) && ENVIRON_KEYS.every((k) => k in body);
}

async function checkMessages(c: DiagnosticClient): Promise<boolean> {
  const body = await c.json('/messages');
  const messages = isObject(body) && isObject(body.Messages) ? body.Messages.messages : undefined;
  return Array.isArray(messages) && isObject(messages[0]) && 'item_hash' in messages[0];
}

async function checkDns(c: DiagnosticClient): Promise<boolean> {
  const body = await c.json('/dns');
  return isObject(body) && Boolean(body.ipv4) && Boolean(body.ipv6);
}

async function checkIpv4(c: DiagnosticClient): Promise<boolean> {
  const body = await c.json('/ip/4');
  return isObject(body) && body.result === true;
}

async function checkInternet(c: DiagnosticClient): Promise<boolean> {
  // aleph-vm: `result` must be an int below 400 (Python's True is one), never False.
  const body = await c.json('/internet');
  const result = isObject(body) ? body.result : undefined;
  return result === true || (typeof result === 'number' && Number.isInteger(result) && result < 400);
}

async function checkCache(c: DiagnosticClient): Promise<boolean> {
  if ((await c.json('/cache/set/a/42')) !== true) return false;
  if ((await c.json('/cache/get/a')) !== '42') return false;
  const keys = await c.json('/cache/keys');
  return Array.isArray(keys) && keys.includes('a');
}

async function checkPersistentStorage(c: DiagnosticClient): Promise<boolean> {
  const first = await c.json('/state/increment');
  const second = await c.json('/state/increment');
  if (!isObject(first) || !isObject(second) || typeof first.counter !== 'number' || typeof second.counter !== 'number') return false;
  return second.counter >= first.counter + 1;
}

async function checkErrorHandling(c: DiagnosticClient): Promise<boolean> {
  const answer = await c.call('/raise');
  return answer?.status === 500 && answer.text.includes('Traceback');
}

async function checkGetAMessage(c: DiagnosticClient): Promise<boolean> {
  const body = await c.json('/get_a_message');
  return isObject(body) && 'item_hash' in body;
}

async function checkLifespan(c: DiagnosticClient): Promise<boolean> {
  const body = await c.json('/lifespan');
  return isObject(body) && body.Lifespan === true;
}

/** aleph-vm's required keys: the answer is 200 when these (of those present) are all true, else 503. */
const REQUIRED = ['index', 'environ', 'ipv4', 'internet', 'dns', 'error_handling', 'lifespan'];

export interface FastapiCheck {
  ok: boolean;
  result: Record<string, boolean>;
}

/**
 * Runs the checks one after the other, as aleph-vm does (the program's cache and counter are
 * shared state). `retro`: the legacy program, without `get_a_message` and `lifespan`.
 */
export async function checkDiagnosticProgram(vmUrl: string, retro: boolean): Promise<FastapiCheck> {
  const c = new DiagnosticClient(vmUrl);
  const result: Record<string, boolean> = {
    index: await checkIndex(c),
    environ: await checkEnviron(c),
    messages: await checkMessages(c),
    dns: await checkDns(c),
    ipv4: await checkIpv4(c),
    internet: await checkInternet(c),
    cache: await checkCache(c),
    persistent_storage: await checkPersistentStorage(c),
    error_handling: await checkErrorHandling(c),
  };
  if (!retro) {
    result.get_a_message = await checkGetAMessage(c);
    result.lifespan = await checkLifespan(c);
  }
  return { ok: REQUIRED.every((k) => !(k in result) || result[k] === true), result };
}
