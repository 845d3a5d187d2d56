/**
 * `on.message` subscriptions (crn-api.md §6.2): programs published while the node follows
 * its CCN are remembered with their subscriptions; every later message that matches one of them
 * (each subscription key equal to the message attribute, nested objects compared key-wise) runs
 * the program. A process workload has no ASGI scope, so the event is delivered over HTTP:
 * `POST /` with header `X-Aleph-Scope: aleph.message` and the message JSON as body. Results are
 * only logged, as in the reference.
 */
import type { Logger } from '@aleph-nodes/service';
import { request } from 'undici';
import type { Supervisor } from './supervisor.ts';

export function subscriptionMatches(subscription: Record<string, unknown>, value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  for (const [key, expected] of Object.entries(subscription)) {
    const actual = (value as Record<string, unknown>)[key];
    if (typeof expected === 'object' && expected !== null && !Array.isArray(expected)) {
      if (!subscriptionMatches(expected as Record<string, unknown>, actual)) return false;
    } else if (JSON.stringify(actual) !== JSON.stringify(expected)) {
      return false;
    }
  }
  return true;
}

export class MessageTriggers {
  readonly #programs = new Map<string, Record<string, unknown>[]>();

  constructor(
    private readonly supervisor: Supervisor,
    private readonly logger: Logger,
    private readonly maxPrograms = 10_000,
  ) {}

  /** Remembers a PROGRAM that has subscriptions. */
  register(ref: string, subscriptions: unknown): void {
    if (!Array.isArray(subscriptions) || subscriptions.length === 0) return;
    if (this.#programs.size >= this.maxPrograms && !this.#programs.has(ref)) return;
    this.#programs.set(ref, subscriptions.filter((s): s is Record<string, unknown> => typeof s === 'object' && s !== null));
  }

  forget(ref: string): void {
    this.#programs.delete(ref);
  }

  /**
   * Runs every program with a subscription matching `message` (a full message with content, as
   * heard from the CCN). When one matches, the message is verified first (`verify` rejects a
   * forged one) and the programs get the verified envelope and content: a program is never
   * started, nor handed a message, on an unverified frame.
   */
  dispatch(message: Record<string, unknown>, verify: (message: Record<string, unknown>) => Promise<{ message: object; content: Record<string, unknown> }>): void {
    const matching = (m: Record<string, unknown>): string[] =>
      [...this.#programs].filter(([ref, subs]) => ref !== m.item_hash && subs.some((s) => subscriptionMatches(s, m))).map(([ref]) => ref);
    if (matching(message).length === 0) return;
    verify(message).then(
      (verified) => {
        const checked = { ...message, ...verified.message, content: verified.content };
        for (const ref of matching(checked)) void this.#deliver(ref, checked);
      },
      (err: unknown) => this.logger.warn({ trigger: message.item_hash, err: (err as Error).message }, 'ignored a message trigger that fails verification'),
    );
  }

  async #deliver(ref: string, message: Record<string, unknown>): Promise<void> {
    try {
      const exec = await this.supervisor.forRequest(ref);
      const endpoint = exec.handle?.endpoint;
      if (!endpoint) return;
      this.supervisor.requestStarted(exec);
      try {
        const res = await request(`http://${endpoint.host}:${endpoint.port}/`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-aleph-scope': 'aleph.message' },
          body: JSON.stringify(message),
          headersTimeout: 30_000,
          bodyTimeout: 30_000,
        });
        await res.body.dump();
        this.logger.info({ ref, trigger: message.item_hash, status: res.statusCode }, 'message trigger delivered');
      } finally {
        this.supervisor.requestEnded(exec);
      }
    } catch (err) {
      this.logger.warn({ ref, trigger: message.item_hash, err: (err as Error).message }, 'message trigger failed');
    }
  }
}
