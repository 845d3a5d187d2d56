/**
 * `ccn oracle balance|credits|flow`: the oracle of a development or test network. Signs the oracle
 * post with `--key-file`, publishes it to `--ccn`, waits until the CCN has processed it
 * (`GET /api/v0/messages/{hash}`), then reads the state back to confirm the post took effect: a
 * CCN processes oracle posts from any other key as plain posts that change nothing (as pyaleph),
 * and saying "done" then would mislead. Exit 0 done, 1 refused (rejected, not in effect) or the
 * CCN unreachable, 2 usage.
 */
import { buildInlineMessage, type AlephMessage } from '@aleph-nodes/protocol';
import { KeyFileError, readKeyFile } from '@aleph-nodes/service';
import { EXIT } from '../common/exit-codes.ts';
import { printJson } from '../common/output.ts';
import { checkTimeout, type Checked, type OracleRequest } from './oracle-args.ts';
import { confirmEffect, type Confirmation } from './oracle-confirm.ts';
import { oraclePost } from './oracle-posts.ts';

export interface OracleOptions {
  keyFile: string;
  ccn: string;
  json: boolean;
  timeout: string;
}

const POLL_MS = 250;

class OracleFailure extends Error {
  override readonly name = 'OracleFailure';
}

function line(kind: string, message: string): void {
  process.stderr.write(`ccn oracle ${kind}: ${message}\n`);
}

async function request(url: string, init?: RequestInit): Promise<Response> {
  try {
    return await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new OracleFailure(`the CCN at ${new URL(url).origin} is unreachable (${cause?.code ?? cause?.message ?? (err as Error).message})`);
  }
}

async function bodyOf(res: Response): Promise<Record<string, unknown>> {
  const text = await res.text();
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return { text: text.slice(0, 300) };
  }
}

function errorText(body: Record<string, unknown>): string {
  const error = body.error as { code?: string; message?: string; details?: unknown } | undefined;
  if (error?.message) return `${error.code ? `${error.code}: ` : ''}${error.message}`;
  return JSON.stringify(body).slice(0, 300);
}

/** Publishes without waiting on the POST itself: the status route is the one source of truth. */
async function publish(ccn: string, message: AlephMessage): Promise<void> {
  const res = await request(`${ccn}/api/v0/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sync: false, message }) });
  if (res.status >= 400) throw new OracleFailure(`the CCN refused the post (HTTP ${res.status}): ${errorText(await bodyOf(res))}`);
}

/** Waits for a final status; the reason of a rejection as the CCN records it. */
async function waitProcessed(ccn: string, hash: string, deadline: number): Promise<void> {
  for (;;) {
    const res = await request(`${ccn}/api/v0/messages/${hash}`);
    if (res.status === 200) {
      const body = await bodyOf(res);
      if (body.status === 'processed') return;
      if (body.status === 'rejected') {
        const details = (body.details as { errors?: unknown[] } | null)?.errors?.map((e) => (typeof e === 'string' ? e : JSON.stringify(e))).join('; ');
        throw new OracleFailure(`the CCN rejected the post ${hash} (error_code ${String(body.error_code)}${details ? `: ${details}` : ''})`);
      }
      if (body.status === 'forgotten') throw new OracleFailure(`the post ${hash} was forgotten`);
    } else if (res.status !== 404) {
      throw new OracleFailure(`GET /api/v0/messages/${hash} answered ${res.status}: ${errorText(await bodyOf(res))}`);
    }
    if (Date.now() > deadline) throw new OracleFailure(`the post ${hash} was not processed in time (still pending; the CCN may be busy: see its log)`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

function describe(req: OracleRequest): string {
  switch (req.kind) {
    case 'balance':
      return `balance of ${req.address} set to ${req.amount} ALEPH`;
    case 'credits':
      return `${req.amount} credits given to ${req.address}`;
    case 'flow':
      return `flow ${req.sender} → ${req.receiver} set to ${req.ratePerHour} ALEPH/hour`;
  }
}

export async function runOracle(kind: OracleRequest['kind'], checked: Checked<OracleRequest>, opts: OracleOptions): Promise<number> {
  if (!checked.ok) {
    line(kind, checked.error);
    return EXIT.USAGE;
  }
  const timeout = checkTimeout(opts.timeout);
  if (!timeout.ok) {
    line(kind, timeout.error);
    return EXIT.USAGE;
  }
  let ccn: string;
  try {
    const url = new URL(opts.ccn);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http');
    ccn = url.href.replace(/\/+$/, '');
  } catch {
    line(kind, `--ccn ${JSON.stringify(opts.ccn)} is not an http(s) URL`);
    return EXIT.USAGE;
  }
  let account;
  try {
    account = readKeyFile(opts.keyFile);
  } catch (err) {
    if (err instanceof KeyFileError) {
      line(kind, `--key-file: ${err.message}`);
      return EXIT.USAGE;
    }
    throw err;
  }

  const req = checked.value;
  const nowMs = Date.now();
  const post = oraclePost(req, { nowMs });
  const message = buildInlineMessage(account, 'POST', post.content, { channel: post.channel, time: nowMs / 1000 });
  try {
    await publish(ccn, message);
    await waitProcessed(ccn, message.item_hash, Date.now() + timeout.value * 1000);
    const confirmation: Confirmation = await confirmEffect(ccn, req, message.item_hash).catch((err: unknown) => {
      throw new OracleFailure(`the post ${message.item_hash} was processed, but reading the state back failed: ${(err as Error).message}`);
    });
    const result = { item_hash: message.item_hash, post_type: post.content.type, oracle: account.address, status: 'processed', in_effect: confirmation.inEffect, note: confirmation.note ?? null, content: post.content.content };
    if (confirmation.inEffect === false) {
      if (opts.json) printJson(result);
      line(kind, `the CCN processed the post ${message.item_hash} but it is not in effect: ${confirmation.note ?? ''} (is ${account.address} one of the CCN's oracles for this kind of post?)`);
      return EXIT.FAILURE;
    }
    if (opts.json) printJson(result);
    else process.stdout.write(`${describe(req)} (${post.content.type} ${message.item_hash}, processed)\n`);
    if (confirmation.inEffect === null && confirmation.note) line(kind, `warning: ${confirmation.note}`);
    return EXIT.OK;
  } catch (err) {
    if (err instanceof OracleFailure) {
      line(kind, err.message);
      return EXIT.FAILURE;
    }
    throw err;
  }
}
