/**
 * A real CCN, a relay in front of it that can also push frames of its own (ccn-relay.ts), and a
 * real CRN (process executor) following the relay, in this process, with the CRN's log captured
 * so tests can wait for what it decided. The SDK clients of an owner and an attacker publish to
 * the real CCN. `close()` tears everything down and checks no namespace, cgroup or lease is left.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { AuthenticatedAlephHttpClient } from '@aleph-sdk/client';
import { importAccountFromPrivateKey } from '@aleph-sdk/ethereum';
import type { CcnNode } from '@aleph-nodes/ccn';
import { startCrn, type CrnConfig, type RunningCrn } from '@aleph-nodes/crn';
import { buildInlineMessage, EthAccount, type AlephMessage, type MessageType } from '@aleph-nodes/protocol';
import { createLogger } from '@aleph-nodes/service';
import { ProcessExecutor } from '@aleph-nodes/vmm';
import { createRuntime, OTHER_KEY, OWNER_KEY, publishWith, startCcnForCrn, type PublishOptions } from '../../crn/helpers/nodes.ts';
import { eventually } from '../../helpers/eventually.ts';
import { startCcnRelay, type CcnRelay } from './ccn-relay.ts';

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export interface CrnUnderAttack {
  ccn: CcnNode;
  relay: CcnRelay;
  crn: RunningCrn;
  crnDataDir: string;
  owner: AuthenticatedAlephHttpClient;
  attacker: AuthenticatedAlephHttpClient;
  ownerAccount: EthAccount;
  attackerAccount: EthAccount;
  logs: LogLine[];
  publish(client: AuthenticatedAlephHttpClient, source: string, opts?: PublishOptions): Promise<string>;
  /** Restarts the CRN on the same data directory (persistent workloads stay up), with settings changed. */
  restartCrn(overrides?: Partial<CrnConfig>): Promise<void>;
  close(): Promise<void>;
}

/** A signed message as the CCN's websocket sends it (envelope plus parsed `content`). */
export function frameOf(message: AlephMessage): Record<string, unknown> {
  return { ...message, content: JSON.parse(message.item_content as string) as unknown };
}

export function signed(account: EthAccount, type: MessageType, content: Record<string, unknown>, address?: string): AlephMessage {
  return buildInlineMessage(account, type, content, { channel: 'TEST', ...(address ? { address } : {}) });
}

/** Submits `message` to the CCN; true when it was processed (accepted). */
export async function submit(ccnUrl: string, message: AlephMessage): Promise<boolean> {
  const res = await fetch(`${ccnUrl}/api/v0/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sync: true, message }) });
  await res.arrayBuffer();
  return res.status === 200;
}

/**
 * Publishes `message` to the CCN; if the CCN refuses it, the relay pushes it to the CRN anyway:
 * either way the CRN hears it. Returns whether the CCN accepted it.
 */
export async function deliver(env: CrnUnderAttack, message: AlephMessage): Promise<boolean> {
  const accepted = await submit(env.ccn.url, message);
  if (!accepted) env.relay.inject(frameOf(message));
  return accepted;
}

export async function startCrnUnderAttack(overrides: Partial<CrnConfig> = {}): Promise<CrnUnderAttack> {
  const { ccn, dir: ccnDir } = await startCcnForCrn();
  const relay = await startCcnRelay(ccn.url);
  const crnDataDir = mkdtempSync(join(tmpdir(), 'crn-sec-'));
  const logs: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        try {
          logs.push(JSON.parse(line) as LogLine);
        } catch {
          // not JSON
        }
      }
      cb();
    },
  });
  let config = { executor: 'process', dataDir: crnDataDir, ccn: relay.url, port: 0, messageWatch: true, capacityVcpus: 32, enforcePayments: false, ...overrides } as CrnConfig;
  const boot = (): Promise<RunningCrn> => startCrn(config, { logger: createLogger({ name: 'crn', level: 'info', destination: sink }) });
  let crn: RunningCrn | undefined;
  const ownerAccount = EthAccount.fromPrivateKey(OWNER_KEY);
  const attackerAccount = EthAccount.fromPrivateKey(OTHER_KEY);
  const owner = new AuthenticatedAlephHttpClient(importAccountFromPrivateKey(OWNER_KEY), ccn.url);
  const attacker = new AuthenticatedAlephHttpClient(importAccountFromPrivateKey(OTHER_KEY), ccn.url);
  const watching = config.messageWatch !== false;
  let runtime: string;
  try {
    crn = await boot();
    runtime = await createRuntime(owner);
    if (watching) await eventually('the CRN to follow the message websocket', 20_000, async () => relay.followers() > 0);
  } catch (err) {
    // Nothing of a failed start is left behind.
    await crn?.close({ stopPersistent: true }).catch(() => undefined);
    await relay.close();
    await ccn.close();
    rmSync(crnDataDir, { recursive: true, force: true });
    rmSync(ccnDir, { recursive: true, force: true });
    throw err;
  }
  let running: RunningCrn = crn;
  const env: CrnUnderAttack = {
    ccn,
    relay,
    get crn() {
      return running;
    },
    crnDataDir,
    owner,
    attacker,
    ownerAccount,
    attackerAccount,
    logs,
    publish: (client, source, opts) => publishWith(client, runtime, source, opts),
    async restartCrn(changes = {}) {
      config = { ...config, ...changes };
      await running.close();
      await eventually('the stopped CRN to leave the message websocket', 20_000, async () => relay.followers() === 0);
      running = await boot();
      if (watching) await eventually('the restarted CRN to follow the message websocket', 20_000, async () => relay.followers() > 0);
    },
    async close() {
      await running.close({ stopPersistent: true });
      await relay.close();
      await ccn.close();
      const probe = new ProcessExecutor({ stateDir: join(crnDataDir, 'executions') });
      const left = probe.hostResources();
      await probe.close();
      rmSync(crnDataDir, { recursive: true, force: true });
      rmSync(ccnDir, { recursive: true, force: true });
      assert.deepEqual(left, { netns: [], cgroups: [], leases: [] }, 'no namespace, cgroup or lease left behind');
    },
  };
  return env;
}

export interface ErrorBody {
  error: { code: string; message: string };
}

/** GET /vm/{ref}/ on the CRN: status and JSON body. */
export async function visit(env: CrnUnderAttack, ref: string, path = ''): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${env.crn.url}/vm/${ref}/${path}`);
  const text = await res.text();
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { text };
  }
  return { status: res.status, body };
}

export async function listed(env: CrnUnderAttack, ref: string): Promise<boolean> {
  return ref in ((await (await fetch(`${env.crn.url}/about/executions/list`)).json()) as Record<string, unknown>);
}
