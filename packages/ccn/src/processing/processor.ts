/**
 * The message pipeline (aleph-protocol.md §6): a submitted message is validated synchronously (format,
 * hash, content schema, signature), stored as `pending` (committed before the answer), then
 * processed by a single worker: fetch content → permissions → type rules and dependencies → one
 * transaction that marks it processed and applies its effects. Missing dependencies are retried
 * with exponential backoff (at most `maxRetries`), any other failure rejects with the Aleph
 * error code and its reason. A message rejected for a missing dependency (or a refused
 * delegation) is evaluated again when that dependency settles, and what a late message changes
 * for others is judged again in its transaction (convergence.ts): the derived state is the same
 * on every CCN whatever order the messages arrived in (order.ts, README "Same state everywhere").
 */
import { EventEmitter } from 'node:events';
import { ALEPH_ERROR, SIGNATURE_BACKEND, validateMessage, type AlephErrorCode, type AlephMessage } from '@aleph-nodes/protocol';
import { backoffMs, ServiceLoop, type Logger, type LoopState } from '@aleph-nodes/service';
import type { CcnConfig } from '../config.ts';
import type { MessageRow, MessageStatus } from '../db/messages-repo.ts';
import type { Stores } from '../stores.ts';
import { CommitDurability } from '../db/commit-durability.ts';
import { queuePending, type IntakeResult } from '../db/pending-intake.ts';
import { Attempts, type Committed } from './attempt.ts';
import { IntakeBatch } from './intake-batch.ts';
import type { Effects } from './convergence.ts';
import { aggregateHandler } from './handlers/aggregate.ts';
import type { HandlerContext } from './handlers/context.ts';
import { executableHandler } from './handlers/executable.ts';
import { forgetHandler } from './handlers/forget.ts';
import { postHandler } from './handlers/post.ts';
import { storeHandler } from './handlers/store.ts';
import { retry, type Outcome } from './outcome.ts';

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
  /** A message reached a final status (processed, rejected, forgotten on arrival...). */
  settled: [itemHash: string, status: MessageStatus];
  /**
   * A processed message went back to pending to be judged again, its effects undone (a late
   * message changed what it was judged on): caches of derived state drop what it fed.
   */
  retracted: [row: MessageRow];
  /** The worker stopped: sync waiters answer with the current status at once. */
  stopped: [];
}

const FINAL_STATUSES: ReadonlySet<MessageStatus> = new Set(['processed', 'rejected', 'forgotten', 'removing', 'removed']);
/** Messages handled per worker turn before yielding to the event loop. */
const BATCH = 50;

export class MessageProcessor {
  readonly events = new EventEmitter<ProcessorEvents>();
  readonly #stores: Stores;
  readonly #config: CcnConfig;
  readonly #log: Logger;
  readonly #clock: () => number;
  readonly #attempts: Attempts;
  /**
   * The single worker (effects apply in order): a round runs the due messages, then sleeps until
   * the next pending attempt is due; a submission or an arrived dependency triggers it, and a
   * trigger during a round runs one more (nothing that became due during it is missed).
   */
  readonly #worker: ServiceLoop;
  /** Submissions committed together (group commit), each answered after its commit. */
  readonly #intake: IntakeBatch;
  /** Which commits wait for the disk (commit-durability.ts): the answered ones. */
  readonly #durability: CommitDurability;

  constructor(stores: Stores, config: CcnConfig, log: Logger, clock: () => number = () => Date.now() / 1000) {
    this.#stores = stores;
    this.#config = config;
    this.#log = log;
    this.#clock = clock;
    this.#attempts = new Attempts(stores, config, (forgetOne) => ({
      POST: postHandler,
      AGGREGATE: aggregateHandler,
      STORE: storeHandler,
      PROGRAM: executableHandler,
      INSTANCE: executableHandler,
      FORGET: forgetHandler(forgetOne),
    }));
    this.events.setMaxListeners(0);
    // An unexpected failure of a round (not of one message: those are retried per message) is
    // tried again after a second, as before the loop was shared.
    this.#durability = new CommitDurability(stores.db, stores.engine);
    // Said once per node: without the native library every EVM message costs ~40× more to verify.
    if (SIGNATURE_BACKEND.name === 'libsecp256k1') log.debug('signatures recovered with libsecp256k1');
    else log.warn({ reason: SIGNATURE_BACKEND.nativeError }, 'libsecp256k1 could not be loaded: signatures are recovered in JavaScript (much slower)');
    this.#intake = new IntakeBatch({
      write: (items) => this.#durability.full(() => queuePending(stores.db, items)),
      writeOne: (item) => this.#durability.full(async () => (await queuePending(stores.db, [item]))[0] as IntakeResult),
      log,
    });
    this.#worker = new ServiceLoop({ name: 'message worker', log, round: () => this.#round(), backoff: { baseMs: 1000, maxMs: 1000 } });
  }

  get state(): LoopState {
    return this.#worker.state;
  }

  /** Starts the worker; pending messages left by a previous run are picked up. */
  start(): void {
    this.#worker.start();
  }

  /** Stops the worker and waits for the batch in progress, so the database can be closed. */
  async stop(): Promise<void> {
    await this.#intake.drained();
    await this.#worker.stop();
    this.events.emit('stopped');
  }

  /**
   * Validates and queues a message. Throws the ProtocolError of an invalid message. A message
   * already known keeps its status (re-submission is idempotent); a rejected one is retried.
   * The pending row is committed when this resolves.
   */
  async submit(raw: unknown, origin: MessageOrigin = 'api'): Promise<SubmitResult> {
    const { message } = validateMessage(raw, { now: this.#clock(), maxFutureSeconds: this.#config.maxFutureSeconds });
    const rawCopy = typeof raw === 'string' ? (JSON.parse(raw) as unknown) : raw;
    const rawJson = JSON.stringify(rawCopy);
    let result: IntakeResult;
    try {
      result = await this.#intake.add({ message, rawJson, receptionTime: this.#clock() });
    } catch (err) {
      // Committed by another path meanwhile (a database refusing a duplicate): its status stands.
      const now = await this.#stores.messages.get(message.item_hash);
      if (!now) throw err;
      return { itemHash: message.item_hash, status: now.status };
    }
    if (!result.queued) return { itemHash: message.item_hash, status: result.status };
    this.events.emit('accepted', message, rawCopy, origin);
    this.#worker.trigger();
    return { itemHash: message.item_hash, status: 'pending' };
  }

  /** Resolves with the message's status once final, or its current status after `timeoutMs`. */
  async waitFor(itemHash: string, timeoutMs: number): Promise<MessageStatus> {
    const status = await this.#waitForStatus(itemHash, timeoutMs);
    // The answer reports a processed (or refused) message: its commit, made relaxed by the
    // worker, is synced first. A stopped node's database is closed with everything synced.
    if (FINAL_STATUSES.has(status) && !this.#stopped()) await this.#durability.barrier(itemHash);
    return status;
  }

  async #waitForStatus(itemHash: string, timeoutMs: number): Promise<MessageStatus> {
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
    if (this.#stopped()) return current ?? 'pending';
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

  /**
   * A file or content just arrived: messages waiting for one get an attempt now, also those
   * rejected after their retries while it was missing.
   */
  async dependencyAvailable(): Promise<void> {
    await this.#stores.messages.wakeWaiting(this.#clock());
    await this.#stores.state.wakeFileWaiters(this.#clock());
    this.#worker.trigger();
  }

  /**
   * Resolves once no message is due at the current clock and the worker is idle (tests drive
   * a node to quiescence with it; messages waiting for a later retry stay pending).
   */
  async settle(): Promise<void> {
    for (;;) {
      await this.#worker.settled();
      if (this.#worker.state !== 'running') return;
      const due = await this.#stores.messages.duePending(this.#clock(), 1);
      if (due.length === 0 && !this.#worker.busy) return;
      this.#worker.trigger();
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  #stopped(): boolean {
    return this.#worker.state === 'stopping' || this.#worker.state === 'stopped';
  }

  /** One round of the worker: every due message, then the delay until the next one is due. */
  async #round(): Promise<number> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.#worker.state === 'running' && (await this.#runBatch()) > 0) {
      // keep going while messages are due
    }
    if (this.#worker.state !== 'running') return Infinity;
    const next = await this.#stores.messages.nextPendingAttempt();
    if (next === undefined) return Infinity;
    return Math.max((next - this.#clock()) * 1000, 5);
  }

  /** Runs one batch of due messages; returns how many were attempted. */
  async #runBatch(): Promise<number> {
    const due = await this.#stores.messages.duePending(this.#clock(), BATCH);
    let progressed = false;
    for (const row of due) {
      // SQLite answers synchronously, so a batch is one long chain of microtasks: without a turn
      // of the event loop between messages, sockets are not read and submissions wait for the
      // whole batch (and get committed one group per batch instead of one per message).
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.#worker.state !== 'running') return 0;
      if (await this.#processOne(row)) progressed = true;
    }
    // A processed message may be the dependency others wait for: give them a chance now.
    if (progressed) await this.#stores.messages.wakeWaiting(this.#clock());
    return due.length;
  }

  /** Runs one attempt; true when the message became processed (or forgotten on arrival). */
  async #processOne(row: MessageRow): Promise<boolean> {
    // Nobody is answered on these commits: they reach the disk with the next synced one.
    return this.#durability.relaxed(() => this.#attemptOne(row));
  }

  async #attemptOne(row: MessageRow): Promise<boolean> {
    let outcome: Outcome;
    let ctx: HandlerContext | undefined;
    let judged: { message: AlephMessage; content?: Record<string, unknown> } | undefined;
    const now = this.#clock();
    try {
      const prepared = await this.#attempts.prepare(row, now);
      if ('outcome' in prepared) {
        outcome = prepared.outcome;
        judged = prepared;
      } else {
        ctx = prepared.ctx;
        judged = ctx;
        outcome = await this.#attempts.handlers[ctx.message.type].check(ctx);
      }
    } catch (err) {
      // Unexpected (a database hiccup, a bug): retried, and rejected only once retries run out.
      this.#log.error({ err, itemHash: row.item_hash }, 'processing failed unexpectedly');
      outcome = retry(ALEPH_ERROR.INTERNAL, 'internal error while processing the message');
    }
    const hash = row.item_hash;
    if (outcome.kind === 'ok' && ctx) {
      let committed: Committed;
      try {
        committed = await this.#attempts.commit(ctx, outcome.forgottenBy ?? [], now);
      } catch (err) {
        // Nothing was applied (rolled back). A database hiccup must not lose the message: it is
        // retried like a missing dependency, and rejected only when the retries are used up.
        this.#log.error({ err, itemHash: hash }, 'applying a message failed');
        await this.#retryOrReject(row, { kind: 'retry', code: ALEPH_ERROR.INTERNAL, details: 'internal error while applying the message' });
        return false;
      }
      await this.#afterCommit(committed.fx);
      this.#log.debug({ itemHash: hash, type: row.type, status: committed.status }, 'message processed');
      if (committed.status === 'processed') {
        const processed = await this.#stores.messages.get(hash);
        if (processed) this.events.emit('processed', processed);
      }
      this.events.emit('settled', hash, committed.status);
      return true;
    }
    if (outcome.kind === 'retry' && outcome.retract) {
      // This message shows that processed ones were judged wrongly (convergence.ts): they are
      // evaluated again, and this one waits for what they give back.
      await this.#afterCommit(await this.#attempts.retract(outcome.retract, now));
    }
    if (outcome.kind === 'retry' && !outcome.retract && row.retries > 0 && now < row.retry_at) {
      // Woken early because something arrived, but not what this message needs: an early
      // attempt does not use up one of the counted retries.
      await this.#stores.messages.backToSchedule(hash, outcome.waitingFor ?? null);
      return false;
    }
    // A refusal is evaluated again when what it was judged on changes (watch.ts).
    if (outcome.kind !== 'ok' && judged) await this.#attempts.watch(judged.message, judged.content);
    if (outcome.kind === 'retry') await this.#retryOrReject(row, outcome);
    else if (outcome.kind === 'reject') await this.#reject(hash, outcome.code, outcome.details, outcome.waitingFor ?? null);
    return false;
  }

  /** Files and events of a commit or a retraction, once committed. */
  async #afterCommit(fx: Effects): Promise<void> {
    await this.#keepFiles([...fx.released, ...fx.unpinned]);
    for (const row of fx.retracted) this.events.emit('retracted', row);
  }

  async #retryOrReject(row: MessageRow, outcome: Extract<Outcome, { kind: 'retry' }>): Promise<void> {
    const waitingFor = outcome.waitingFor ?? null;
    if (row.retries >= this.#config.maxRetries) {
      // Rejected, but a message that waits for a dependency is evaluated again when it settles:
      // a dependency that arrives late never leaves this node rejected where another processed.
      await this.#reject(row.item_hash, outcome.code, outcome.details, waitingFor);
      return;
    }
    const delayMs = backoffMs(row.retries + 1, { baseMs: this.#config.retryBaseMs, maxMs: this.#config.retryMaxMs });
    await this.#stores.messages.scheduleRetry(row.item_hash, row.retries + 1, this.#clock() + delayMs / 1000, outcome.code, outcome.details, waitingFor);
    this.#log.debug({ itemHash: row.item_hash, code: outcome.code, retries: row.retries + 1, waitingFor }, outcome.details);
  }

  async #reject(itemHash: string, code: AlephErrorCode, details: string, waitingFor: string | null): Promise<void> {
    await this.#stores.messages.reject(itemHash, code, details, waitingFor);
    // What waited for it is judged now (a final refusal, or a wait of its own).
    await this.#attempts.settled(itemHash, this.#clock());
    this.#log.info({ itemHash, code, waitingFor }, `message rejected: ${details}`);
    this.events.emit('settled', itemHash, 'rejected');
  }

  /**
   * Files a FORGET or a retraction unpinned are kept for the unpinned-file grace period, then
   * deleted by the node's garbage collection if nothing pinned them again (pyaleph: a grace
   * period pin). Deleting at once would make the end state depend on arrival order: another
   * STORE of the same file arriving after the FORGET would find it gone on one node and not on
   * another that processed it first.
   */
  async #keepFiles(hashes: readonly string[]): Promise<void> {
    const now = this.#clock();
    for (const hash of new Set(hashes)) {
      const file = await this.#stores.files.get(hash);
      if (file && (await this.#stores.files.pinCount(hash)) === 0) {
        await this.#stores.files.upsert(hash, file.engine, file.size, now, now + this.#config.unpinnedFileTtlSeconds);
      }
    }
  }
}
