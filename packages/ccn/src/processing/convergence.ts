/**
 * Order independence: the state a CCN derives from a set of messages is the
 * same whatever order they arrived in. Folds (aggregates, a post's latest amend, balances, the
 * registry) are recomputed in the total order (order.ts). Verdicts that one message's arrival
 * can change for another are revisited here, inside the transaction that commits the change:
 *
 * - forgotten on arrival: a message named by a processed FORGET (or an element of an aggregate
 *   key it names, coming before it) is forgotten as soon as it is processed, by every such
 *   FORGET that may act on it; one that may not is evaluated again (it would have been refused);
 * - evaluated again ("retracted"): a processed or forgotten message whose verdict depended on
 *   something that changed is put back to pending with its effects undone (a forgotten one gets
 *   its content back from the message as received) and processed again. This happens when a
 *   FORGET forgets a message others depend on (a STORE update, an executable using or replacing
 *   it), when an executable shows that the FORGETs of its STORE came after it, when an owner's
 *   `security` aggregate changes before messages its delegates sent, and, transitively, for the
 *   dependants of every retracted message;
 * - woken: messages waiting for a message, a file, an aggregate key or a security aggregate
 *   are attempted again when it settles, also after their retries ran out.
 */
import type { MessageType } from '@aleph-nodes/protocol';
import type { CcnConfig } from '../config.ts';
import type { MessageRow } from '../db/messages-repo.ts';
import { toEnvelope } from '../db/message-views.ts';
import type { Repos } from '../stores.ts';
import type { TypeHandler } from './handlers/context.ts';
import { aggregateTarget, positionOf, precedes, securityTarget, type Position } from './order.ts';
import { attributesOfRow, checkActOn, mayCreateAs, sameAddress } from './permissions.ts';
import { usersKey } from './watch.ts';

const SECURITY_KEY = 'security';

/** What one commit changed beyond the message itself (events and files, after the commit). */
export interface Effects {
  /** Files unpinned by a FORGET: kept for the grace period, then collected if nothing pins them. */
  released: string[];
  /** Files unpinned by a retraction (the message may pin them again): the same. */
  unpinned: string[];
  /** Processed messages put back to pending. */
  retracted: MessageRow[];
  /** Dependency keys whose dependants are woken at the end of the commit. */
  settled: Set<string>;
}

export function newEffects(): Effects {
  return { released: [], unpinned: [], retracted: [], settled: new Set() };
}

export class Convergence {
  readonly #handlers: Record<MessageType, TypeHandler>;
  readonly #config: CcnConfig;

  constructor(handlers: Record<MessageType, TypeHandler>, config: CcnConfig) {
    this.#handlers = handlers;
    this.#config = config;
  }

  /**
   * Forgets `row` (processed, or already forgotten by another FORGET) for `forgetHash`: undoes its
   * effects, cascades (a post's amends), and re-evaluates what depended on it.
   */
  async forgetOne(repos: Repos, row: MessageRow, forgetHash: string, fx: Effects, now: number): Promise<void> {
    const wasProcessed = row.status === 'processed' || row.status === 'removing';
    const forget = await repos.messages.get(forgetHash);
    const forgetting = forget ? positionOf(forget) : { time: Number.POSITIVE_INFINITY, hash: forgetHash };
    await repos.messages.markForgotten(row.item_hash, forgetHash);
    const handler = this.#handlers[row.type];
    if (wasProcessed) await handler.undo({ row, repos, config: this.#config, now, released: fx.released, forgetting });
    await handler.cascade?.({ row, repos, forgetHash });
    fx.settled.add(row.item_hash);
    if (wasProcessed) await touchUsers(repos, row, fx);
    if (!wasProcessed) {
      // Already forgotten: a `security` element stays in effect until its earliest FORGET.
      if (row.type === 'AGGREGATE' && row.content_key === SECURITY_KEY) {
        await repos.aggregates.retire(row.item_hash, forgetting);
        await this.#elementChanged(repos, row, fx, now);
      }
      return;
    }
    // What comes after the FORGET and was judged on it is judged again (a STORE update of the
    // forgotten STORE, an executable using it, a replacement): what comes before keeps its
    // verdict (forgotten.ts).
    const dependants = (await repos.state.dependantsOf(row.item_hash)).filter((d) => d.status === 'processed' && precedes(forgetting, positionOf(d)));
    await this.retract(repos, dependants.map((d) => d.item_hash), fx, now);
    await this.#elementChanged(repos, row, fx, now);
  }

  /**
   * The FORGETs that forget a message being processed on arrival (`row` is processed, in the
   * transaction): processed FORGETs naming it, or naming its aggregate key and coming after it,
   * that may act on it. A processed FORGET that may not act on it is evaluated again.
   */
  async forgettersOnArrival(repos: Repos, row: MessageRow, fx: Effects, now: number): Promise<string[]> {
    const named = await repos.state.forgetsNaming(row.item_hash);
    const byKey = row.type === 'AGGREGATE' && row.owner_lc && row.content_key ? await repos.state.forgetsNaming(aggregateTarget(row.owner_lc, row.content_key)) : [];
    const self = positionOf(row);
    const forgetters: string[] = [];
    const wrong: string[] = [];
    for (const forget of [...named, ...byKey.filter((f) => precedes(self, positionOf(f)))]) {
      if (forget.status !== 'processed' || forgetters.includes(forget.item_hash)) continue;
      if (row.type === 'FORGET') {
        wrong.push(forget.item_hash);
        continue;
      }
      const message = toEnvelope(forget);
      const content = JSON.parse(forget.content ?? '{}') as Record<string, unknown>;
      const permission = await checkActOn({ message, content, aggregates: repos.aggregates }, row, 'forget');
      if (permission.kind === 'ok') forgetters.push(forget.item_hash);
      else wrong.push(forget.item_hash);
    }
    await this.retract(repos, wrong, fx, now);
    return forgetters;
  }

  /** A message was processed (and stays so): what its arrival changes for others. */
  async processed(repos: Repos, row: MessageRow, fx: Effects, now: number): Promise<void> {
    fx.settled.add(row.item_hash);
    await touchUsers(repos, row, fx);
    if (row.type === 'AGGREGATE' && row.owner_lc && row.content_key) {
      fx.settled.add(aggregateTarget(row.owner_lc, row.content_key));
      await this.#elementChanged(repos, row, fx, now);
    }
  }

  /**
   * Puts processed or forgotten messages back to pending, with their effects undone, and the
   * same for what depended on them (transitively). A processed FORGET gives back what it forgot.
   */
  async retract(repos: Repos, hashes: readonly string[], fx: Effects, now: number): Promise<void> {
    const queue = [...hashes];
    const seen = new Set<string>();
    while (queue.length > 0) {
      const hash = queue.shift() as string;
      if (seen.has(hash)) continue;
      seen.add(hash);
      const row = await repos.messages.get(hash);
      if (!row || (row.status !== 'processed' && row.status !== 'removing' && row.status !== 'forgotten')) continue;
      const wasProcessed = row.status !== 'forgotten';
      await touchUsers(repos, row, fx);
      await repos.state.resetForEvaluation(row, now);
      fx.settled.add(hash);
      if (wasProcessed) {
        await this.#handlers[row.type].undo({ row, repos, config: this.#config, now, released: fx.unpinned });
        fx.retracted.push(row);
      } else if (row.type === 'AGGREGATE') {
        await repos.aggregates.delete(hash);
      }
      await this.#elementChanged(repos, row, fx, now);
      if (row.type === 'FORGET' && wasProcessed) {
        for (const target of await repos.state.forgottenBy(hash)) {
          const rest = (JSON.parse(target.forgotten_by ?? '[]') as string[]).filter((h) => h !== hash);
          // Still forgotten by another FORGET: only the list changes. Else it comes back.
          if (rest.length > 0) await this.#stillForgotten(repos, target, rest, fx, now);
          else queue.push(target.item_hash);
        }
      }
      for (const dependant of await repos.state.dependantsOf(hash)) queue.push(dependant.item_hash);
      // A FORGET of its aggregate key that comes after it found it there: without it the key
      // may have nothing to forget (501). Its verdict is judged again.
      for (const forget of await this.#keyForgetsAfter(repos, row)) queue.push(forget.item_hash);
    }
  }

  /** A target one of whose FORGETs was retracted, still forgotten by the others. */
  async #stillForgotten(repos: Repos, target: MessageRow, rest: string[], fx: Effects, now: number): Promise<void> {
    await repos.messages.setForgottenBy(target.item_hash, rest);
    if (target.type !== 'AGGREGATE' || target.content_key !== SECURITY_KEY) return;
    let earliest: Position | undefined;
    for (const hash of rest) {
      const forget = await repos.messages.get(hash);
      if (forget && (!earliest || precedes(positionOf(forget), earliest))) earliest = positionOf(forget);
    }
    if (earliest) await repos.aggregates.setRetiredAt(target.item_hash, earliest);
    await this.#elementChanged(repos, target, fx, now);
  }

  /** Processed FORGETs of `row`'s aggregate key that come after it. */
  async #keyForgetsAfter(repos: Repos, row: MessageRow): Promise<MessageRow[]> {
    if (row.type !== 'AGGREGATE' || !row.owner_lc || !row.content_key) return [];
    const self = positionOf(row);
    return (await repos.state.forgetsNaming(aggregateTarget(row.owner_lc, row.content_key))).filter((f) => f.status === 'processed' && precedes(self, positionOf(f)));
  }

  /**
   * An aggregate element appeared or went: when it is a `security` element, the verdicts of the
   * owner's delegates after it in the total order are judged again (and refusals woken).
   */
  async #elementChanged(repos: Repos, row: MessageRow, fx: Effects, now: number): Promise<void> {
    if (row.type !== 'AGGREGATE' || row.content_key !== SECURITY_KEY || !row.owner_lc) return;
    const owner = row.owner_lc;
    fx.settled.add(securityTarget(owner));
    const changed: string[] = [];
    for (const later of await repos.state.delegatedAfter(owner, positionOf(row))) {
      if (await this.#stillAllowed(repos, later, owner)) continue;
      changed.push(later.item_hash);
    }
    await this.retract(repos, changed, fx, now);
  }

  /**
   * A message a delegate wrote for `owner` that only needed the right to create it: is it still
   * allowed under the security aggregate as of its position? Others (amends, FORGETs, STORE
   * updates, replacements) are judged on their targets and always evaluated again.
   */
  async #stillAllowed(repos: Repos, row: MessageRow, owner: string): Promise<boolean> {
    if (row.status !== 'processed') return false;
    if (row.type === 'FORGET' || row.content_ref !== null || (row.type === 'POST' && row.content_type === 'amend')) return false;
    if (row.type === 'PROGRAM' || row.type === 'INSTANCE') {
      const content = JSON.parse(row.content ?? '{}') as { replaces?: unknown };
      if (typeof content.replaces === 'string') return false;
    }
    if (sameAddress(row.sender, owner)) return true;
    return mayCreateAs(repos.aggregates, row.sender, owner, attributesOfRow(row), positionOf(row) satisfies Position);
  }
}

/** An executable changed: FORGETs refused because of the STOREs it uses are judged again. */
async function touchUsers(repos: Repos, row: MessageRow, fx: Effects): Promise<void> {
  if (row.type !== 'PROGRAM' && row.type !== 'INSTANCE') return;
  for (const ref of await repos.state.refsOf(row.item_hash)) fx.settled.add(usersKey(ref));
}
