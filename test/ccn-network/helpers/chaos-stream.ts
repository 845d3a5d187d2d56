/**
 * The chaos test's messages: a seeded stream of valid signed messages of several kinds from a few
 * accounts (posts, amends of their own posts, aggregate updates of two keys, STOREs of small
 * files, FORGETs of their own posts, amends and aggregate updates), built from what was accepted
 * so far so that every reference names a message some CCN took. Everything random comes from the
 * seed (keys, choices, file bytes); which CCN is up when a message is sent depends on timing.
 */
import { createHash } from 'node:crypto';
import { buildInlineMessage, EthAccount, sha256Hex, type AlephMessage } from '@aleph-nodes/protocol';

/** mulberry32: small, fast, good enough to drive a test from one 32-bit seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Kind = 'post' | 'amend' | 'aggregate' | 'store' | 'forget';

export interface Planned {
  kind: Kind;
  message: AlephMessage;
  /** The STORE's file. */
  file?: Buffer;
  /** The message a FORGET or an amend targets. */
  target?: string;
}

interface Owned {
  account: number;
  hash: string;
}

const AGGREGATE_KEYS = ['profile', 'prefs'];

export class ChaosStream {
  readonly accounts: EthAccount[];
  readonly #random: () => number;
  readonly #channel: string;
  /** Accepted originals that may still be amended or forgotten. */
  readonly #posts: Owned[] = [];
  /** Accepted amends and aggregate updates that may still be forgotten. */
  readonly #forgettable: Owned[] = [];
  /** Accepted STOREs: their file hashes. */
  readonly files: string[] = [];
  readonly counts: Record<Kind, number> = { post: 0, amend: 0, aggregate: 0, store: 0, forget: 0 };
  #n = 0;

  constructor(seed: number, channel: string, accounts = 3) {
    this.#random = prng(seed);
    this.#channel = channel;
    this.accounts = Array.from({ length: accounts }, (_, i) =>
      EthAccount.fromPrivateKey(createHash('sha256').update(`ccn-chaos/${seed}/${i}`).digest('hex')),
    );
  }

  random(): number {
    return this.#random();
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.#random() * items.length)] as T;
  }

  #kind(): Kind {
    const r = this.#random();
    if (r < 0.3 || this.#posts.length === 0) return 'post';
    if (r < 0.52) return 'amend';
    if (r < 0.74) return 'aggregate';
    if (r < 0.84) return 'store';
    return 'forget';
  }

  next(): Planned {
    const n = this.#n++;
    const kind = this.#kind();
    const channel = this.#channel;
    const text = `m${n}-${Math.floor(this.#random() * 1e9).toString(36)}`;
    switch (kind) {
      case 'amend': {
        const target = this.pick(this.#posts);
        const account = this.accounts[target.account] as EthAccount;
        return { kind, target: target.hash, message: buildInlineMessage(account, 'POST', { type: 'amend', ref: target.hash, content: { n, text } }, { channel }) };
      }
      case 'aggregate': {
        const account = this.pick(this.accounts);
        const key = this.pick(AGGREGATE_KEYS);
        const field = `f${Math.floor(this.#random() * 6)}`;
        return { kind, message: buildInlineMessage(account, 'AGGREGATE', { key, content: { [field]: { n, text } } }, { channel }) };
      }
      case 'store': {
        const account = this.pick(this.accounts);
        const size = 200 + Math.floor(this.#random() * 8000);
        const file = Buffer.alloc(size);
        for (let i = 0; i < size; i++) file[i] = Math.floor(this.#random() * 256);
        return { kind, file, message: buildInlineMessage(account, 'STORE', { item_type: 'storage', item_hash: sha256Hex(file) }, { channel }) };
      }
      case 'forget': {
        // Originals (which may carry amends) as often as amends and aggregate updates.
        const pool = this.#forgettable.length > 0 && this.#random() < 0.5 ? this.#forgettable : this.#posts;
        const target = this.pick(pool);
        const account = this.accounts[target.account] as EthAccount;
        return { kind, target: target.hash, message: buildInlineMessage(account, 'FORGET', { hashes: [target.hash], reason: 'chaos' }, { channel }) };
      }
      default: {
        const account = Math.floor(this.#random() * this.accounts.length);
        return { kind: 'post', message: buildInlineMessage(this.accounts[account] as EthAccount, 'POST', { type: 'chaos', content: { n, text } }, { channel }) };
      }
    }
  }

  /** A CCN took `planned` (answered 200/202): later messages may refer to it. */
  accepted(planned: Planned): void {
    this.counts[planned.kind]++;
    const account = this.accounts.findIndex((a) => a.address === planned.message.sender);
    const owned = { account, hash: planned.message.item_hash };
    if (planned.kind === 'post') this.#posts.push(owned);
    if (planned.kind === 'amend' || planned.kind === 'aggregate') this.#forgettable.push(owned);
    if (planned.kind === 'store') this.files.push(sha256Hex(planned.file as Buffer));
    if (planned.kind === 'forget') {
      // A client does not amend or forget what it forgot.
      for (const list of [this.#posts, this.#forgettable]) {
        const at = list.findIndex((o) => o.hash === planned.target);
        if (at >= 0) list.splice(at, 1);
      }
    }
  }
}
