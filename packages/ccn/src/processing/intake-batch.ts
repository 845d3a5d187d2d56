/**
 * Group commit of submissions: a submission waits for the commit of the batch it joined, and a
 * batch holds every submission that arrived while the previous one was committing. Under load one
 * commit serves many messages; alone, a message waits one event-loop turn more than before. The
 * guarantee is unchanged: a submission resolves (and the API answers) only after the commit
 * that holds its row returned, so an answered message survives kill -9.
 */
import type { Logger } from '@aleph-nodes/service';
import type { IntakeResult, PendingIntake } from '../db/pending-intake.ts';

interface Waiting {
  item: PendingIntake;
  resolve: (result: IntakeResult) => void;
  reject: (err: unknown) => void;
}

export interface IntakeBatchOptions {
  /** Writes one batch in one transaction (pending-intake.ts); throws when nothing was committed. */
  write: (items: readonly PendingIntake[]) => Promise<IntakeResult[]>;
  /** Writes one message alone, for the members of a batch whose transaction failed. */
  writeOne: (item: PendingIntake) => Promise<IntakeResult>;
  log: Logger;
  /** Largest batch; bounds the memory and the statement sizes of one commit. */
  maxBatch?: number;
}

export class IntakeBatch {
  readonly #opts: IntakeBatchOptions;
  readonly #maxBatch: number;
  #queue: Waiting[] = [];
  /** True from the first queued submission until the queue is seen empty (in the same turn). */
  #running = false;
  #done: Promise<void> = Promise.resolve();

  constructor(opts: IntakeBatchOptions) {
    this.#opts = opts;
    this.#maxBatch = opts.maxBatch ?? 256;
  }

  /** Resolves once the message's row is committed (or found already there). */
  add(item: PendingIntake): Promise<IntakeResult> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      if (!this.#running) {
        this.#running = true;
        this.#done = this.#drain();
      }
    });
  }

  /** Resolves when every submission added so far is committed or failed. */
  async drained(): Promise<void> {
    while (this.#running) await this.#done;
  }

  async #drain(): Promise<void> {
    // One turn of the event loop: requests read in the same turn join the first batch.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#maxBatch);
      await this.#commit(batch);
    }
    // Cleared in the turn that saw the queue empty: a submission queued later starts a new drain.
    this.#running = false;
  }

  async #commit(batch: Waiting[]): Promise<void> {
    let results: IntakeResult[] | undefined;
    try {
      results = await this.#opts.write(batch.map((w) => w.item));
    } catch (err) {
      if (batch.length > 1) this.#opts.log.warn({ err, size: batch.length }, 'a batch of submissions failed to commit; committing them one by one');
      else {
        (batch[0] as Waiting).reject(err);
        return;
      }
    }
    if (results) {
      batch.forEach((w, i) => w.resolve(results[i] as IntakeResult));
      return;
    }
    // One failing row (a constraint, a hostile value the database refuses) must not fail the others.
    for (const w of batch) {
      try {
        w.resolve(await this.#opts.writeOne(w.item));
      } catch (err) {
        w.reject(err);
      }
    }
  }
}
