/**
 * Message status poll (crn-api.md §6.9), the fallback when the websocket missed a FORGET:
 * every interval the status of each live execution's message is read from the CCN; after 3
 * consecutive terminal statuses (rejected, forgotten, removed) the execution is stopped. A
 * healthy answer resets the count, and a failed request counts as nothing.
 */
import { ServiceLoop, type Logger } from '@aleph-nodes/service';
import type { CcnClient } from '../ccn/ccn-client.ts';
import type { Supervisor } from './supervisor.ts';

const TERMINAL = new Set(['rejected', 'forgotten', 'removed']);
const CONFIRMATIONS = 3;

export class StatusMonitor {
  readonly #strikes = new Map<string, number>();
  #loop: ServiceLoop | undefined;
  #running = false;

  constructor(
    private readonly supervisor: Supervisor,
    private readonly ccn: CcnClient,
    private readonly logger: Logger,
  ) {}

  /** A check every `intervalSeconds` (the first one interval after the start); 0 = never. */
  start(intervalSeconds: number): void {
    if (this.#loop) throw new Error('the status monitor is already started');
    if (intervalSeconds <= 0) return;
    const every = intervalSeconds * 1000;
    this.#loop = new ServiceLoop({
      name: 'status monitor',
      log: this.logger,
      intervalMs: every,
      initialDelayMs: every,
      backoff: { baseMs: every, maxMs: every },
      round: () => this.check(),
    });
    this.#loop.start();
  }

  async check(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    try {
      const live = new Set<string>();
      for (const exec of this.supervisor.liveExecutions()) {
        live.add(exec.ref);
        let status: string | undefined;
        try {
          // A fresh read each time: three confirmations must be three answers of the CCN.
          status = await this.ccn.getStatus(exec.ref, 0);
        } catch {
          continue;
        }
        if (status && TERMINAL.has(status)) {
          const strikes = (this.#strikes.get(exec.ref) ?? 0) + 1;
          this.#strikes.set(exec.ref, strikes);
          if (strikes >= CONFIRMATIONS) {
            this.logger.info({ ref: exec.ref, status }, 'message no longer valid: stopping its execution');
            this.#strikes.delete(exec.ref);
            await this.supervisor.messageRetired(exec.ref, status === 'forgotten' ? 'forgotten' : status);
          }
        } else {
          this.#strikes.delete(exec.ref);
        }
      }
      for (const ref of this.#strikes.keys()) if (!live.has(ref)) this.#strikes.delete(ref);
    } finally {
      this.#running = false;
    }
  }

  /** Stops the checks; resolves once the one in flight ended. */
  async close(): Promise<void> {
    await this.#loop?.stop();
  }
}
