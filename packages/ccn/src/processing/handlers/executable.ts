/**
 * PROGRAM and INSTANCE: every referenced STORE (code, runtime, data, immutable volumes, rootfs
 * parent, persistent volume parents) must be a processed STORE message (300/301 otherwise, after
 * retries). `replaces` (pyaleph `handlers/content/vm.py`) must name a processed PROGRAM or
 * INSTANCE (300) that is not itself an update (303) and allows amends (302), of the owner the
 * message writes as, sent by that owner or a delegate allowed to create it (2, permissions.ts).
 * pyaleph checks no owner here at all, so anyone could replace an amendable program; here only
 * its owner (or a delegate) can.
 */
import {
  ALEPH_ERROR,
  isImmutableVolume,
  isPersistentVolume,
  type AlephErrorCode,
  type InstanceContent,
  type ProgramContent,
  type Volume,
} from '@aleph-nodes/protocol';
import { checkPayment, dropPayment, recordPayment } from '../../payments/admission.ts';
import type { Repos } from '../../stores.ts';
import { isUnsettled, OK, onChange, reject, retry, type Outcome } from '../outcome.ts';
import { forgetHashesOf, forgottenBefore, storedContent } from '../forgotten.ts';
import type { Position } from '../order.ts';
import { checkActOn, positionOfMessage } from '../permissions.ts';
import type { HandlerContext, TypeHandler } from './context.ts';

interface Ref {
  ref: string;
  what: string;
  code: AlephErrorCode;
}

function volumeRefs(volumes: readonly Volume[]): Ref[] {
  const refs: Ref[] = [];
  volumes.forEach((v, i) => {
    if (isImmutableVolume(v)) refs.push({ ref: v.ref, what: `volumes[${i}]`, code: ALEPH_ERROR.VM_VOLUME_NOT_FOUND });
    else if (isPersistentVolume(v) && v.parent) refs.push({ ref: v.parent.ref, what: `volumes[${i}].parent`, code: ALEPH_ERROR.VM_VOLUME_NOT_FOUND });
  });
  return refs;
}

/** Every STORE message an executable content depends on. */
export function executableRefs(type: 'PROGRAM' | 'INSTANCE', content: Record<string, unknown>): Ref[] {
  if (type === 'PROGRAM') {
    const c = content as unknown as ProgramContent;
    const refs: Ref[] = [
      { ref: c.code.ref, what: 'code', code: ALEPH_ERROR.VM_REF_NOT_FOUND },
      { ref: c.runtime.ref, what: 'runtime', code: ALEPH_ERROR.VM_REF_NOT_FOUND },
    ];
    if (c.data) refs.push({ ref: c.data.ref, what: 'data', code: ALEPH_ERROR.VM_REF_NOT_FOUND });
    return [...refs, ...volumeRefs(c.volumes)];
  }
  const c = content as unknown as InstanceContent;
  return [{ ref: c.rootfs.parent.ref, what: 'rootfs.parent', code: ALEPH_ERROR.VM_REF_NOT_FOUND }, ...volumeRefs(c.volumes)];
}

/**
 * A STORE an executable uses, against the FORGETs of that STORE, in the total order: a FORGET that
 * comes before the executable wins (the executable is refused), an executable that comes before
 * the FORGET wins (the FORGET is refused with 503, see forget.ts). When the STORE was forgotten
 * only by FORGETs that come after this executable, those FORGETs were wrong: they are evaluated
 * again (`retract`) and the executable waits for the STORE to come back.
 */
async function checkRef(repos: Repos, r: Ref, self: Position): Promise<Outcome | { forgetters: string[] }> {
  const target = await repos.messages.get(r.ref);
  if (!target || isUnsettled(target)) return retry(r.code, `${r.what} ref ${r.ref} is not a known STORE message`, r.ref);
  if (target.type !== 'STORE') return reject(r.code, `${r.what} ref ${r.ref} is not a processed STORE message`);
  if (target.status === 'processed' || target.status === 'removing') return OK;
  if (target.status !== 'forgotten') return reject(r.code, `${r.what} ref ${r.ref} is not a processed STORE message`, onChange(r.ref));
  const before = await forgottenBefore(repos, target, self);
  if (before) return reject(r.code, `${r.what} ref ${r.ref} was forgotten by ${before}`, onChange(r.ref));
  return { forgetters: forgetHashesOf(target) };
}

async function checkReplaces(ctx: HandlerContext, replaces: string): Promise<Outcome> {
  const target = await ctx.repos.messages.get(replaces);
  if (!target || isUnsettled(target)) return retry(ALEPH_ERROR.VM_REF_NOT_FOUND, `replaced message ${replaces} not found`, replaces);
  const forgotten = await forgottenBefore(ctx.repos, target, positionOfMessage(ctx.message, ctx.content));
  const usable = target.status === 'processed' || target.status === 'removing' || (target.status === 'forgotten' && !forgotten);
  if (!usable || (target.type !== 'PROGRAM' && target.type !== 'INSTANCE')) {
    // A refused or forgotten target may change (evaluated again): so may this verdict.
    return reject(ALEPH_ERROR.VM_REF_NOT_FOUND, `replaced message ${replaces} is not a processed PROGRAM or INSTANCE`, onChange(replaces));
  }
  const permission = await checkActOn({ message: ctx.message, content: ctx.content, aggregates: ctx.repos.aggregates }, target, 'replaces');
  if (permission.kind !== 'ok') return permission;
  const original = storedContent(target) as { replaces?: unknown; allow_amend?: unknown };
  if (typeof original.replaces === 'string') return reject(ALEPH_ERROR.VM_UPDATE_OF_UPDATE, `${replaces} is itself an update; replace the original`);
  // pyaleph reads allow_amend from the program's current version (its latest update); this node
  // keeps no version table and reads the original's flag, which only its owner could set.
  if (original.allow_amend !== true) return reject(ALEPH_ERROR.VM_AMEND_NOT_ALLOWED, `${replaces} does not allow amends`);
  return OK;
}

async function check(ctx: HandlerContext): Promise<Outcome> {
  const type = ctx.message.type as 'PROGRAM' | 'INSTANCE';
  const self = positionOfMessage(ctx.message, ctx.content);
  const wrongForgets: { ref: Ref; forgetters: string[] }[] = [];
  for (const r of executableRefs(type, ctx.content)) {
    const outcome = await checkRef(ctx.repos, r, self);
    if ('forgetters' in outcome) wrongForgets.push({ ref: r, forgetters: outcome.forgetters });
    else if (outcome.kind !== 'ok') return outcome;
  }
  const replaces = ctx.content.replaces;
  const outcome = typeof replaces === 'string' ? await checkReplaces(ctx, replaces) : OK;
  const first = wrongForgets[0];
  if (outcome.kind !== 'ok') return outcome;
  // Paid last, once everything else holds (pyaleph checks the balance after the content rules).
  if (!first) return checkPayment(ctx, type);
  // Only a message valid in every other respect takes precedence over the FORGETs.
  return retry(
    first.ref.code,
    `${first.ref.what} ref ${first.ref.ref} was forgotten by FORGETs that come after this message; they are evaluated again`,
    first.ref.ref,
    wrongForgets.flatMap((w) => w.forgetters),
  );
}

export const executableHandler: TypeHandler = {
  check,
  async apply(ctx) {
    // Beyond the message itself (its STORE refs are indexed with it; CRNs read executables from
    // the message API): its cost, for locked amounts, credit consumption and the payment job.
    await recordPayment(ctx, ctx.message.type as 'PROGRAM' | 'INSTANCE');
  },
  async undo(ctx) {
    // Forgetting an executable stops it on CRNs, which watch FORGET messages.
    await dropPayment(ctx);
  },
};
