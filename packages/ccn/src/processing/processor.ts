/**
 * The message pipeline (reference §6): a submitted message is validated synchronously (format,
 * hash, content schema, signature), stored as `pending` (committed before the answer), then
 * processed by a single worker: fetch content → permissions → type rules and dependencies → one
 * transaction that marks it processed and applies its effects. Missing dependencies are retried
 * with exponential backoff (at most `maxRetries`), any other failure rejects with the Aleph
 * error code and its reason.
 */
import { EventEmitter } from 'node:events';
import {
  ALEPH_ERROR,
  isProtocolError,
  parseContent,
  validateMessage,
  validateStoredContent,
  type AlephErrorCode,
  type AlephMessage,
  type MessageType,
} from '@aleph-nodes/protocol';
import type { Logger } from '@aleph-nodes/service';
import type { CcnConfig } from '../config.ts';
import { toEnvelope, type MessageRow, type MessageStatus } from '../db/messages-repo.ts';
import type { Repos, Stores } from '../stores.ts';
import { deriveColumns } from './derived.ts';
import { aggregateHandler } from './handlers/aggregate.ts';
import type { HandlerContext, TypeHandler } from './handlers/context.ts';
import { executableHandler } from './handlers/executable.ts';
import { forgetHandler } from './handlers/forget.ts';
import { postHandler } from './handlers/post.ts';
import { storeHandler } from './handlers/store.ts';
import { reject, retry, type Outcome } from './outcome.ts';
import { checkSender } from './permissions.ts';

export interface SubmitResult {
  itemHash: string;
  status: MessageStatus;
}

/** Where a submitted message came from: a client, gossip from a peer, or anti-entropy sync. */
export type MessageOrigin = 'api' | 'p2p' | 'sync';

export interface ProcessorEvents {
  /**
   * A message new to this node was validated and stored as pending (not a re-submission of a
   * known one). Peering publishes the ones that came from clients; peers' gossip relays the rest.
   */
  accepted: [message: AlephMessage, raw: unknown, origin: MessageOrigin];
  /** A message became processed (the WebSocket feed). */
  processed: [row: MessageRow];
  /** A message reached a final status (processed, rejected...). */
  settled: [itemHash: string, status: MessageStatus];
  /** The worker stopped: sync waiters answer with the current status at once. */
  stopped: [];
}

type ProcessorState = 'idle' | 'running' | 'stopped';

const FINAL_STATUSES: ReadonlySet<MessageStatus> = new Set(['processed', 'rejected', 'forgotten', 'removing', 'removed']);
/** Messages handled per worker turn before yielding to the event loop. */
const BATCH = 50;

export class MessageProcessor {
  readonly events = new EventEmitter<ProcessorEvents>();
  readonly #stores: Stores;
  readonly #config: CcnConfig;
  readonly #log: Logger;
  readonly #clock: () => number;
  readonly #handlers: Record<MessageType, TypeHandler>;
  #state: ProcessorState = 'idle';
  #timer: NodeJS.Timeout | undefined;
  /** The batch being run, if any: a single worker, so effects apply in order. */
  #current: Promise<void> | undefined;
  #again = false;
  /** Files whose STORE the FORGET being applied just forgot; deleted if nothing pins them. */
  #releasedCandidates: string[] = [];

  constructor(stores: Stores, config: CcnConfig, log: Logger, clock: () => number = () => Date.now() / 1000) {
    this.#stores = stores;
    this.#config = config;
    this.#log = log;
    this.#clock = clock;
    this.#handlers = {
      POST: postHandler,
      AGGREGATE: aggregateHandler,
      STORE: storeHandler,
      PROGRAM: executableHandler,
      INSTANCE: executableHandler,
      FORGET: forgetHandler((repos, row, forgetHash) => this.#forgetOne(repos, row, forgetHash)),
    };
    this.events.setMaxListeners(0);
  }

  get state(): ProcessorState {
    return this.#state;
  }

  /** Starts the worker; pending messages left by a previous run are picked up. */
  start(): void {
    if (this.#state === 'running') return;
    this.#state = 'running';
    this.#kick();
  }

  /** Stops the worker and waits for the batch in progress, so the database can be closed. */
  async stop(): Promise<void> {
    this.#state = 'stopped';
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#current;
    this.events.emit('stopped');
  }

  /**
   * Validates and queues a message. Throws the ProtocolError of an invalid message. A message
   * already known keeps its status (re-submission is idempotent); a rejected one is retried.
   * The pending row is committed when this resolves.
   */
  async submit(raw: unknown, origin: MessageOrigin = 'api'): Promise<SubmitResult> {
    const { message } = validateMessage(raw, { now: this.#clock(), maxFutureSeconds: this.#config.maxFutureSeconds });
    const existing = await this.#stores.messages.get(message.item_hash);
    if (existing && existing.status !== 'rejected') return { itemHash: message.item_hash, status: existing.status };
    const rawCopy = typeof raw === 'string' ? (JSON.parse(raw) as unknown) : raw;
    try {
      if (existing) await this.#stores.messages.resetToPending(message, rawCopy, this.#clock());
      else await this.#stores.messages.insertPending(message, rawCopy, this.#clock());
    } catch (err) {
      // Two submissions of the same new message raced: the other one inserted it.
      const now = await this.#stores.messages.get(message.item_hash);
      if (!now) throw err;
      return { itemHash: message.item_hash, status: now.status };
    }
    this.events.emit('accepted', message, rawCopy, origin);
    this.#kick();
    return { itemHash: message.item_hash, status: 'pending' };
  }

  /** Resolves with the message's status once final, or its current status after `timeoutMs`. */
  async waitFor(itemHash: string, timeoutMs: number): Promise<MessageStatus> {
    let settledStatus: MessageStatus | undefined;
    const onEarly = (hash: string, status: MessageStatus): void => {
      if (hash === itemHash) settledStatus = status;
    };
    // Listen before reading, so a settlement between the read and the wait is not missed.
    this.events.on('settled', onEarly);
    const current = (await this.#stores.messages.get(itemHash))?.status;
    this.events.off('settled', onEarly);
    if (settledStatus) return settledStatus;
    if (current && FINAL_STATUSES.has(current)) return current;
    if (this.#state === 'stopped') return current ?? 'pending';
    return new Promise((resolve) => {
      const onSettled = (hash: string, status: MessageStatus): void => {
        if (hash !== itemHash) return;
        cleanup();
        resolve(status);
      };
      const giveUp = (): void => {
        cleanup();
        resolve('pending');
      };
      const timer = setTimeout(giveUp, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.events.off('settled', onSettled);
        this.events.off('stopped', giveUp);
      };
      this.events.on('settled', onSettled);
      this.events.on('stopped', giveUp);
    });
  }

  /** A file or content just arrived: messages waiting for one get an attempt now. */
  async dependencyAvailable(): Promise<void> {
    await this.#stores.messages.wakeWaiting(this.#clock());
    this.#kick();
  }

  /**
   * Asks the worker for a pass. `#again` records the request so that one arriving while a pass
   * is finishing (after its last query) is never lost: the pass re-runs, or a new one starts.
   */
  #kick(): void {
    if (this.#state !== 'running') return;
    this.#again = true;
    if (this.#current) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#current = this.#loop().finally(() => {
      this.#current = undefined;
      if (this.#again) this.#kick();
    });
  }

  async #loop(): Promise<void> {
    try {
      while (this.#again && this.#state === 'running') {
        this.#again = false;
        await new Promise<void>((resolve) => setImmediate(resolve));
        while (this.#state === 'running' && (await this.#runBatch()) > 0) {
          // keep going while messages are due
        }
      }
      if (this.#state !== 'running') return;
      const next = await this.#stores.messages.nextPendingAttempt();
      // A kick during that query re-runs the worker (see #kick); no timer needed then.
      if (next !== undefined && !this.#again && this.#state === 'running') {
        const delayMs = Math.max(0, (next - this.#clock()) * 1000);
        this.#timer = setTimeout(() => this.#kick(), Math.min(Math.max(delayMs, 5), 2_147_483_647));
      }
    } catch (err) {
      if (this.#state !== 'running') return;
      this.#log.error({ err }, 'message worker failed; retrying shortly');
      this.#timer = setTimeout(() => this.#kick(), 1000);
    }
  }

  /** Runs one batch of due messages; returns how many were attempted. */
  async #runBatch(): Promise<number> {
    const due = await this.#stores.messages.duePending(this.#clock(), BATCH);
    let progressed = false;
    for (const row of due) {
      if (this.#state !== 'running') return 0;
      if (await this.#processOne(row)) progressed = true;
    }
    // A processed message may be the dependency others wait for: give them a chance now.
    if (progressed) await this.#stores.messages.wakeWaiting(this.#clock());
    return due.length;
  }

  /** Runs one attempt; true when the message became processed. */
  async #processOne(row: MessageRow): Promise<boolean> {
    let outcome: Outcome;
    let ctx: HandlerContext | undefined;
    try {
      const prepared = await this.#prepare(row);
      if ('kind' in prepared) outcome = prepared;
      else {
        ctx = prepared;
        outcome = await this.#handlers[ctx.message.type].check(ctx);
      }
    } catch (err) {
      // Unexpected (a database hiccup, a bug): retried, and rejected only once retries run out.
      this.#log.error({ err, itemHash: row.item_hash }, 'processing failed unexpectedly');
      outcome = retry(ALEPH_ERROR.INTERNAL, 'internal error while processing the message');
    }
    const hash = row.item_hash;
    if (outcome.kind === 'ok' && ctx) {
      const commit = ctx;
      const released: string[] = [];
      this.#releasedCandidates = [];
      try {
        await this.#stores.transaction(async (repos) => {
          const inTx = { ...commit, repos };
          await repos.messages.markProcessed(hash, deriveColumns(commit.message, commit.content, await contentBytes(repos, row)));
          await this.#handlers[commit.message.type].apply(inTx);
          if (commit.message.type === 'FORGET') released.push(...(await this.#unpinnedFiles(repos)));
        });
      } catch (err) {
        // Nothing was applied (rolled back). A database hiccup must not lose the message: it is
        // retried like a missing dependency, and rejected only when the retries are used up.
        this.#log.error({ err, itemHash: hash }, 'applying a message failed');
        await this.#retryOrReject(row, ALEPH_ERROR.INTERNAL, 'internal error while applying the message');
        return false;
      }
      await this.#deleteFiles(released);
      this.#log.debug({ itemHash: hash, type: row.type }, 'message processed');
      const processed = await this.#stores.messages.get(hash);
      if (processed) this.events.emit('processed', processed);
      this.events.emit('settled', hash, 'processed');
      return true;
    }
    if (outcome.kind === 'retry' && row.retries > 0 && this.#clock() < row.retry_at) {
      // Woken early because something arrived, but not what this message needs: an early
      // attempt does not use up one of the counted retries.
      await this.#stores.messages.backToSchedule(hash);
      return false;
    }
    if (outcome.kind === 'retry') await this.#retryOrReject(row, outcome.code, outcome.details);
    else if (outcome.kind === 'reject') await this.#reject(hash, outcome.code, outcome.details);
    return false;
  }

  async #retryOrReject(row: MessageRow, code: AlephErrorCode, details: string): Promise<void> {
    if (row.retries >= this.#config.maxRetries) {
      await this.#reject(row.item_hash, code, details);
      return;
    }
    const delayMs = Math.min(this.#config.retryBaseMs * 2 ** row.retries, this.#config.retryMaxMs);
    await this.#stores.messages.scheduleRetry(row.item_hash, row.retries + 1, this.#clock() + delayMs / 1000, code, details);
    this.#log.debug({ itemHash: row.item_hash, code, retries: row.retries + 1 }, details);
  }

  async #reject(itemHash: string, code: AlephErrorCode, details: string): Promise<void> {
    await this.#stores.messages.reject(itemHash, code, details);
    this.#log.info({ itemHash, code }, `message rejected: ${details}`);
    this.events.emit('settled', itemHash, 'rejected');
  }

  /** Fetches and parses the content, and checks that the sender may write as `content.address`. */
  async #prepare(row: MessageRow): Promise<HandlerContext | Outcome> {
    const message = toEnvelope(row);
    let content: Record<string, unknown>;
    try {
      if (message.item_type === 'inline') {
        content = parseContent(message.type, JSON.parse(message.item_content ?? 'null')) as Record<string, unknown>;
      } else {
        const bytes = this.#stores.fileStore.read(message.item_hash);
        if (!bytes) return retry(ALEPH_ERROR.CONTENT_UNAVAILABLE, `content ${message.item_hash} is not available`);
        content = validateStoredContent(message as AlephMessage & { type: MessageType }, bytes, {
          now: this.#clock(),
          maxFutureSeconds: this.#config.maxFutureSeconds,
        }) as Record<string, unknown>;
      }
    } catch (err) {
      if (isProtocolError(err)) return reject(err.alephCode, err.message);
      if (err instanceof SyntaxError) return reject(ALEPH_ERROR.INVALID_FORMAT, 'content is not valid JSON');
      throw err;
    }
    // FORGETs and amends are authorized against their targets, by their handlers (permissions.ts).
    const permission = await checkSender(message, content, this.#stores.aggregates);
    if (permission.kind !== 'ok') return permission;
    return { row, message, content, repos: this.#stores, config: this.#config, now: this.#clock() };
  }

  async #forgetOne(repos: Repos, row: MessageRow, forgetHash: string): Promise<void> {
    await repos.messages.markForgotten(row.item_hash, forgetHash);
    await this.#handlers[row.type].forget({ row, forgetHash, repos, config: this.#config, now: this.#clock() });
    if (row.type === 'STORE' && row.content_item_hash) this.#releasedCandidates.push(row.content_item_hash);
  }

  async #unpinnedFiles(repos: Repos): Promise<string[]> {
    const candidates = this.#releasedCandidates;
    this.#releasedCandidates = [];
    const unpinned: string[] = [];
    for (const hash of candidates) {
      if ((await repos.files.pinCount(hash)) === 0) {
        await repos.files.delete(hash);
        unpinned.push(hash);
      }
    }
    return unpinned;
  }

  /** Removes the bytes of files no longer referenced, once their rows are gone (committed). */
  async #deleteFiles(hashes: readonly string[]): Promise<void> {
    for (const hash of hashes) {
      // A re-upload may have recorded the file again in the meantime: keep it then.
      if (await this.#stores.files.get(hash)) continue;
      this.#stores.fileStore.delete(hash);
      this.#log.debug({ hash }, 'file no longer referenced, deleted');
    }
  }
}

/** Byte length of a message's content document. */
async function contentBytes(repos: Repos, row: MessageRow): Promise<number> {
  if (row.item_type === 'inline') return Buffer.byteLength(row.item_content ?? '', 'utf8');
  return (await repos.files.get(row.item_hash))?.size ?? repos.fileStore.read(row.item_hash)?.length ?? 0;
}
