/**
 * Test support for the payment suites: an in-process CCN (processor + stores, test clock) with one
 * oracle key for balances, credits and flows, the payment cutoffs set so that hold and credit
 * executables are both accepted and charged, and builders of the messages involved.
 */
import { buildInlineMessage, EthAccount, sha256Hex, type AlephMessage } from '@aleph-nodes/protocol';
import type { CcnConfig } from '../config.ts';
import type { EngineName } from '../testing/engines.ts';
import { openOrderNode, receiveFile, type OrderNode } from '../testing/order-harness.ts';

/** 2026-09-25: after pyaleph's free-before cutoff, before our test hold/credit-only cutoffs. */
export const NOW = 1_790_000_000;

export function paymentConfig(oracle: string, overrides: Partial<CcnConfig> = {}): Partial<CcnConfig> {
  return {
    paymentChecks: true,
    balanceIndexers: [oracle],
    creditOracles: [oracle],
    flowOracles: [oracle],
    holdAndStreamRefusedFromTime: 4_000_000_000,
    creditOnlyFromTime: 4_000_000_000,
    paymentCheckIntervalSeconds: 10,
    removingGraceSeconds: 30,
    ...overrides,
  };
}

export async function openPaymentNode(engine: EngineName, oracle: EthAccount, overrides: Partial<CcnConfig> = {}): Promise<OrderNode> {
  return openOrderNode(engine, NOW, paymentConfig(oracle.address, overrides));
}

export async function submit(node: OrderNode, message: AlephMessage): Promise<string> {
  await node.processor.submit(message, 'api');
  await node.processor.settle();
  return (await node.stores.messages.get(message.item_hash))?.status ?? 'missing';
}

export function balancesPost(oracle: EthAccount, balances: Record<string, unknown>, time: number, height = Math.round(time * 1000)): AlephMessage {
  return buildInlineMessage(oracle, 'POST', { type: 'balances-update', content: { chain: 'ETH', main_height: height, balances } }, { time });
}

export function creditsPost(oracle: EthAccount, address: string, amount: number, time: number, expiration?: number): AlephMessage {
  const entry = { address, amount, price: '0.01', tx_hash: `0x${sha256Hex(`${address}${time}`)}`, provider: 'test', ...(expiration ? { expiration } : {}) };
  return buildInlineMessage(oracle, 'POST', { type: 'aleph_credit_distribution', content: { distribution: { credits: [entry], token: 'ALEPH', chain: 'ETH' } } }, { time, channel: 'ALEPH_CREDIT' });
}

export function flowsPost(oracle: EthAccount, flows: { sender: string; receiver: string; rate_per_hour: string }[], time: number): AlephMessage {
  return buildInlineMessage(oracle, 'POST', { type: 'aleph-flows-update', content: { chain: 'ETH', flows } }, { time });
}

/** The two STOREs (code, runtime) an executable needs, processed on the node; returns their hashes. */
export async function codeStores(node: OrderNode, owner: EthAccount, time: number): Promise<{ code: string; runtime: string }> {
  const out: string[] = [];
  for (const what of ['code', 'runtime']) {
    const bytes = new TextEncoder().encode(`${what} of ${owner.address}`);
    const hash = sha256Hex(bytes);
    await receiveFile(node, hash, bytes);
    const store = buildInlineMessage(owner, 'STORE', { item_type: 'storage', item_hash: hash }, { time });
    const status = await submit(node, store);
    if (status !== 'processed') throw new Error(`code STORE ${status}`);
    out.push(store.item_hash);
  }
  return { code: out[0] as string, runtime: out[1] as string };
}

export function program(owner: EthAccount, refs: { code: string; runtime: string }, time: number, payment: 'hold' | 'credit' = 'hold', persistent = false): AlephMessage {
  return buildInlineMessage(
    owner,
    'PROGRAM',
    {
      type: 'vm-function',
      allow_amend: false,
      on: { http: true, persistent },
      runtime: { ref: refs.runtime, use_latest: false, comment: '' },
      code: { encoding: 'zip', entrypoint: 'main:app', ref: refs.code, use_latest: false },
      resources: { vcpus: 1, memory: 2048, seconds: 30 },
      payment: { chain: 'ETH', type: payment },
      ...(persistent ? { requirements: {} } : {}),
    },
    { time },
  );
}
