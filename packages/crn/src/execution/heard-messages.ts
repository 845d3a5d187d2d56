/**
 * What the CRN does with messages it hears on its CCN's websocket that would act on an
 * execution here: a FORGET of an executed message (or of a program's code), or an amend (a
 * message whose `content.ref` is an executed message or a program's code). The CCN's word is not
 * enough (a CCN may accept what it should not, or be someone else's): before acting, the CRN
 *  1. verifies the message itself (item hash, signature, content schema);
 *  2. checks that its sender may act for the execution's owner (same address, or authorized in
 *     the owner's `security` aggregate; authorizations.ts, as for owner operations);
 *  3. for a FORGET, asks the CCN that the target's status is really `forgotten`.
 * A message failing any step is logged (warn, with hashes) and ignored. Messages that concern
 * nothing on this node are skipped before any of this (the websocket carries the whole network).
 */
import { LIMITS } from '@aleph-nodes/protocol';
import type { Logger } from '@aleph-nodes/service';
import { mayActFor } from '../ccn/authorizations.ts';
import type { CcnClient } from '../ccn/ccn-client.ts';

/** What this node runs, as the handler needs it. */
export interface KnownExecution {
  ref: string;
  owner: string;
  /** The program's `code.ref`, if any. */
  codeRef?: string | undefined;
}

export interface HeardMessageDeps {
  ccn: Pick<CcnClient, 'verify' | 'getStatus' | 'getAggregate'>;
  /** Owner of the executable message `ref` when this node knows it (running, recorded, cached). */
  ownerOf(ref: string): string | undefined;
  /** The live executions. */
  live(): KnownExecution[];
  /** Acts: stops `ref` (and retires it for good when `why` is `forgotten`). */
  retire(ref: string, why: string): Promise<void>;
  /** A message whose FORGET was confirmed (on.message subscriptions drop it). */
  forgotten?(ref: string): void;
  logger: Logger;
}

interface Targets {
  kind: 'forget' | 'amend';
  refs: string[];
}

/** An act on one execution: which ref, whose, why, and (FORGET) which hash must be forgotten. */
interface Act {
  ref: string;
  owner: string;
  why: 'forgotten' | 'code forgotten' | 'amended';
  forgottenHash?: string;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The hashes a message would act on, read defensively from an untrusted frame. */
export function targetsOf(type: unknown, content: unknown): Targets | undefined {
  if (!isObject(content)) return undefined;
  if (type === 'FORGET' && Array.isArray(content.hashes)) {
    const refs = content.hashes.slice(0, LIMITS.forgetHashes).filter((h): h is string => typeof h === 'string');
    return refs.length > 0 ? { kind: 'forget', refs } : undefined;
  }
  if ((type === 'STORE' || type === 'PROGRAM' || type === 'INSTANCE') && typeof content.ref === 'string') {
    return { kind: 'amend', refs: [content.ref] };
  }
  return undefined;
}

export class HeardMessages {
  constructor(private readonly deps: HeardMessageDeps) {}

  /** The acts `targets` would cause on this node (none: the message does not concern it). */
  #acts(targets: Targets): Act[] {
    const acts: Act[] = [];
    const live = this.deps.live();
    for (const hash of new Set(targets.refs)) {
      const owner = this.deps.ownerOf(hash);
      if (targets.kind === 'forget') {
        if (owner !== undefined) acts.push({ ref: hash, owner, why: 'forgotten', forgottenHash: hash });
        for (const e of live) if (e.codeRef === hash && e.ref !== hash) acts.push({ ref: e.ref, owner: e.owner, why: 'code forgotten', forgottenHash: hash });
      } else {
        if (owner !== undefined) acts.push({ ref: hash, owner, why: 'amended' });
        for (const e of live) if (e.codeRef === hash && e.ref !== hash) acts.push({ ref: e.ref, owner: e.owner, why: 'amended' });
      }
    }
    return acts;
  }

  /** Handles one frame of the websocket; never throws. */
  async handle(raw: Record<string, unknown>): Promise<void> {
    try {
      await this.#handle(raw);
    } catch (err) {
      this.deps.logger.warn({ item_hash: raw.item_hash, err: (err as Error).message }, 'could not handle a message from the CCN');
    }
  }

  async #handle(raw: Record<string, unknown>): Promise<void> {
    const heard = targetsOf(raw.type, raw.content);
    if (!heard || this.#acts(heard).length === 0) return;
    const log = this.deps.logger;
    let verified;
    try {
      verified = await this.deps.ccn.verify(raw);
    } catch (err) {
      log.warn({ item_hash: raw.item_hash, type: raw.type, targets: heard.refs, err: (err as Error).message }, 'ignored a message from the CCN that fails verification');
      return;
    }
    const message = verified.message;
    // What the verified content targets (a non-inline content was read from storage and checked).
    const targets = targetsOf(message.type, verified.content);
    if (!targets) return;
    for (const act of this.#acts(targets)) {
      const context = { item_hash: message.item_hash, type: message.type, sender: message.sender, target: act.ref, owner: act.owner };
      const allowed = await mayActFor(this.deps.ccn, act.owner, { sender: message.sender, type: message.type, chain: message.chain, channel: message.channel });
      if (!allowed) {
        log.warn(context, 'ignored a message whose sender may not act for the owner of the execution it names');
        continue;
      }
      if (act.forgottenHash !== undefined) {
        const status = await this.deps.ccn.getStatus(act.forgottenHash, 0).catch(() => undefined);
        if (status !== 'forgotten') {
          log.warn({ ...context, status: status ?? 'unknown' }, 'ignored a FORGET the CCN does not confirm (the target is not forgotten)');
          continue;
        }
      }
      log.info({ ...context, why: act.why }, 'message retired by its owner');
      await this.deps.retire(act.ref, act.why);
      if (act.why === 'forgotten') this.deps.forgotten?.(act.ref);
    }
  }
}
