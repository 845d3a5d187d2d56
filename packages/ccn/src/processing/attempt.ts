/**
 * One processing attempt of one message, split out of the worker (processor.ts): reading and
 * authorizing it (`prepare`), and the transaction that applies it with everything its arrival
 * changes for other messages (`commit`, see convergence.ts).
 */
import { ALEPH_ERROR, isProtocolError, parseContent, validateStoredContent, type AlephMessage, type ForgetContent, type MessageType } from '@aleph-nodes/protocol';
import type { CcnConfig } from '../config.ts';
import type { MessageRow, MessageStatus } from '../db/messages-repo.ts';
import { toEnvelope } from '../db/message-views.ts';
import type { Repos, Stores } from '../stores.ts';
import { Convergence, newEffects, type Effects } from './convergence.ts';
import { deriveColumns } from './derived.ts';
import type { HandlerContext, TypeHandler } from './handlers/context.ts';
import { namedTargets } from './handlers/forget.ts';
import { reject, retry, type Outcome } from './outcome.ts';
import { checkSender } from './permissions.ts';
import { watchKeys } from './watch.ts';

/** A message read and authorized, or the outcome that stopped it (with its content when parsed). */
export type Prepared = { ctx: HandlerContext } | { outcome: Outcome; message: AlephMessage; content?: Record<string, unknown> };

export interface Committed {
  /** The message's status after the commit: processed, or forgotten on arrival. */
  status: MessageStatus;
  fx: Effects;
}

export class Attempts {
  readonly #stores: Stores;
  readonly #config: CcnConfig;
  readonly #handlers: Record<MessageType, TypeHandler>;
  readonly convergence: Convergence;
  /** The effects of the commit in progress (a single worker: one at a time). */
  #fx: Effects = newEffects();
  #now = 0;

  constructor(stores: Stores, config: CcnConfig, handlers: (forgetOne: ForgetOneFn) => Record<MessageType, TypeHandler>) {
    this.#stores = stores;
    this.#config = config;
    this.#handlers = handlers((repos, row, forgetHash) => this.convergence.forgetOne(repos, row, forgetHash, this.#fx, this.#now));
    this.convergence = new Convergence(this.#handlers, config);
  }

  get handlers(): Record<MessageType, TypeHandler> {
    return this.#handlers;
  }

  /** Fetches and parses the content, and checks that the sender may write as `content.address`. */
  async prepare(row: MessageRow, now: number): Promise<Prepared> {
    const message = toEnvelope(row);
    const stop = (outcome: Outcome, content?: Record<string, unknown>): Prepared => ({ outcome, message, ...(content ? { content } : {}) });
    let content: Record<string, unknown>;
    try {
      if (message.item_type === 'inline') {
        content = parseContent(message.type, JSON.parse(message.item_content ?? 'null')) as Record<string, unknown>;
      } else {
        const bytes = this.#stores.fileStore.read(message.item_hash);
        if (!bytes) return stop(retry(ALEPH_ERROR.CONTENT_UNAVAILABLE, `content ${message.item_hash} is not available`, message.item_hash));
        content = validateStoredContent(message as AlephMessage & { type: MessageType }, bytes, {
          now,
          maxFutureSeconds: this.#config.maxFutureSeconds,
        }) as Record<string, unknown>;
      }
    } catch (err) {
      if (isProtocolError(err)) return stop(reject(err.alephCode, err.message));
      if (err instanceof SyntaxError) return stop(reject(ALEPH_ERROR.INVALID_FORMAT, 'content is not valid JSON'));
      throw err;
    }
    // Its place in the total order is known from now on (a pending message's position counts
    // for the FORGETs that wait for it), and so are the targets a FORGET names.
    if (row.content_time === null && typeof content.time === 'number') await this.#stores.state.setContentTime(row.item_hash, content.time);
    if (message.type === 'FORGET') await this.#stores.state.recordForgetTargets(message.item_hash, namedTargets(content as unknown as ForgetContent));
    // FORGETs and amends are authorized against their targets, by their handlers (permissions.ts).
    const permission = await checkSender(message, content, this.#stores.aggregates);
    if (permission.kind !== 'ok') return stop(permission, content);
    return { ctx: { row, message, content, repos: this.#stores, config: this.#config, now } };
  }

  /** Records what a refused message was judged on (watch.ts). */
  async watch(message: AlephMessage, content: Record<string, unknown> | undefined): Promise<void> {
    await this.#stores.state.setWatch(message.item_hash, content ? await watchKeys(this.#stores, message, content) : []);
  }

  /**
   * Marks the message processed and applies it, then what its arrival changes: forgotten on
   * arrival by FORGETs that name it, verdicts of others judged again, dependants woken.
   */
  async commit(ctx: HandlerContext, forgottenBy: readonly string[], now: number): Promise<Committed> {
    const hash = ctx.message.item_hash;
    const fx = newEffects();
    this.#fx = fx;
    this.#now = now;
    try {
      const status = await this.#stores.transaction(async (repos) => {
        const inTx = { ...ctx, repos, now };
        await repos.messages.markProcessed(hash, deriveColumns(ctx.message, ctx.content, await contentBytes(repos, ctx.row)));
        await repos.state.setWatch(hash, []);
        await this.#handlers[ctx.message.type].apply(inTx);
        const processed = (await repos.messages.get(hash)) as MessageRow;
        const forgetters = [...new Set([...forgottenBy, ...(await this.convergence.forgettersOnArrival(repos, processed, fx, now))])];
        let final: MessageStatus = 'processed';
        if (forgetters.length > 0) {
          for (const forgetHash of forgetters.sort()) {
            const current = (await repos.messages.get(hash)) as MessageRow;
            await this.convergence.forgetOne(repos, current, forgetHash, fx, now);
          }
          final = 'forgotten';
        } else {
          await this.convergence.processed(repos, processed, fx, now);
        }
        fx.settled.add(hash);
        await wake(repos, fx, now);
        return final;
      });
      return { status, fx };
    } finally {
      this.#fx = newEffects();
    }
  }

  /** Runs retractions asked by an outcome (their own transaction), then wakes what they changed. */
  async retract(hashes: readonly string[], now: number): Promise<Effects> {
    const fx = newEffects();
    await this.#stores.transaction(async (repos) => {
      await this.convergence.retract(repos, hashes, fx, now);
      await wake(repos, fx, now);
    });
    return fx;
  }

  /** A message reached a final status outside a commit (rejected): its dependants are woken. */
  async settled(itemHash: string, now: number): Promise<void> {
    await this.#stores.state.wakeDependants(itemHash, now);
  }
}

export type ForgetOneFn = (repos: Repos, row: MessageRow, forgetHash: string) => Promise<void>;

async function wake(repos: Repos, fx: Effects, now: number): Promise<void> {
  for (const key of fx.settled) await repos.state.wakeDependants(key, now);
}

/** Byte length of a message's content document. */
async function contentBytes(repos: Repos, row: MessageRow): Promise<number> {
  if (row.item_type === 'inline') return Buffer.byteLength(row.item_content ?? '', 'utf8');
  return (await repos.files.get(row.item_hash))?.size ?? repos.fileStore.read(row.item_hash)?.length ?? 0;
}
