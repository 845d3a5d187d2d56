/**
 * Credit state as a pure replay (issue 14, item 4). Credits are integers held in LOTS: each
 * distribution (or an oracle's transfer) is a lot with an optional expiration; every debit (an
 * oracle's expense, the consumption of a running credit-paid message) is drawn FIFO from the lots
 * still valid at the debit's time, oldest lot first (pyaleph's emission order). A debit larger
 * than what is left takes what is there and the rest is dropped: no balance is ever negative
 * (pyaleph drops the excess the same way). A lot past its expiration counts for nothing.
 *
 * The replay runs in the total order (time, item_hash, entry index, grants before debits at the
 * same place), so every CCN holding the same posts and consumption rows derives the same lots,
 * whatever order the posts arrived in.
 */
import { Dec } from '@aleph-nodes/protocol';

export interface CreditEvent {
  kind: 'grant' | 'debit';
  amount: number;
  /** Unix seconds: the post's content time, or the consumption boundary. */
  time: number;
  hash: string;
  idx: number;
  /** Grants: unix seconds after which the lot is void (null: never). */
  expiration: number | null;
}

export interface CreditLot {
  hash: string;
  idx: number;
  time: number;
  amount: number;
  remaining: number;
  expiration: number | null;
}

export interface CreditState {
  /** Credits valid at `at`. */
  balance: number;
  lots: CreditLot[];
  /** Per debit (`hash:idx`), what it actually drew. */
  drawn: Map<string, number>;
}

export function compareEvents(a: CreditEvent, b: CreditEvent): number {
  if (a.time !== b.time) return a.time < b.time ? -1 : 1;
  if (a.hash !== b.hash) return a.hash < b.hash ? -1 : 1;
  if (a.idx !== b.idx) return a.idx - b.idx;
  if (a.kind !== b.kind) return a.kind === 'grant' ? -1 : 1;
  return 0;
}

function validAt(lot: CreditLot, t: number): boolean {
  return lot.expiration === null || lot.expiration > t;
}

/** The credit state of one address at `at` (unix seconds) from its events (any order given). */
export function replayCredits(events: readonly CreditEvent[], at: number): CreditState {
  const lots: CreditLot[] = [];
  const drawn = new Map<string, number>();
  for (const e of [...events].sort(compareEvents)) {
    if (e.time > at) break;
    if (!(e.amount > 0) || !Number.isFinite(e.amount)) continue;
    if (e.kind === 'grant') {
      lots.push({ hash: e.hash, idx: e.idx, time: e.time, amount: e.amount, remaining: e.amount, expiration: e.expiration });
      continue;
    }
    let left = e.amount;
    for (const lot of lots) {
      if (left <= 0) break;
      if (lot.remaining <= 0 || !validAt(lot, e.time)) continue;
      const take = Math.min(lot.remaining, left);
      lot.remaining -= take;
      left -= take;
    }
    drawn.set(`${e.hash}:${e.idx}`, e.amount - left);
  }
  const balance = lots.filter((l) => validAt(l, at)).reduce((s, l) => s + l.remaining, 0);
  return { balance, lots, drawn };
}

/**
 * Credits a message paying `creditPerSecond` has consumed from `start` to `t`: the floor of the
 * exact decimal product (credits are integers), so that the figure at an instant is the same on
 * every CCN and the sum of the per-period rows telescopes to it.
 */
export function consumedUntil(creditPerSecond: string, start: number, t: number): number {
  if (t <= start) return 0;
  return new Dec(creditPerSecond).times(new Dec(t).minus(start)).floor().toNumber();
}
