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
import type { Repos } from '../../stores.ts';
import { OK, reject, retry, type Outcome } from '../outcome.ts';
import { checkActOn } from '../permissions.ts';
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

async function checkRef(repos: Repos, r: Ref): Promise<Outcome> {
  const target = await repos.messages.get(r.ref);
  if (!target || target.status === 'pending') return retry(r.code, `${r.what} ref ${r.ref} is not a known STORE message`);
  if (target.type !== 'STORE' || target.status !== 'processed') return reject(r.code, `${r.what} ref ${r.ref} is not a processed STORE message`);
  return OK;
}

async function checkReplaces(ctx: HandlerContext, replaces: string): Promise<Outcome> {
  const target = await ctx.repos.messages.get(replaces);
  if (!target || target.status === 'pending') return retry(ALEPH_ERROR.VM_REF_NOT_FOUND, `replaced message ${replaces} not found`);
  if ((target.status !== 'processed' && target.status !== 'removing') || (target.type !== 'PROGRAM' && target.type !== 'INSTANCE')) {
    return reject(ALEPH_ERROR.VM_REF_NOT_FOUND, `replaced message ${replaces} is not a processed PROGRAM or INSTANCE`);
  }
  const permission = await checkActOn({ message: ctx.message, content: ctx.content, aggregates: ctx.repos.aggregates }, target, 'replaces');
  if (permission.kind !== 'ok') return permission;
  const original = JSON.parse(target.content ?? '{}') as { replaces?: unknown; allow_amend?: unknown };
  if (typeof original.replaces === 'string') return reject(ALEPH_ERROR.VM_UPDATE_OF_UPDATE, `${replaces} is itself an update; replace the original`);
  // pyaleph reads allow_amend from the program's current version (its latest update); this node
  // keeps no version table and reads the original's flag, which only its owner could set.
  if (original.allow_amend !== true) return reject(ALEPH_ERROR.VM_AMEND_NOT_ALLOWED, `${replaces} does not allow amends`);
  return OK;
}

async function check(ctx: HandlerContext): Promise<Outcome> {
  const type = ctx.message.type as 'PROGRAM' | 'INSTANCE';
  for (const r of executableRefs(type, ctx.content)) {
    const outcome = await checkRef(ctx.repos, r);
    if (outcome.kind !== 'ok') return outcome;
  }
  const replaces = ctx.content.replaces;
  return typeof replaces === 'string' ? checkReplaces(ctx, replaces) : OK;
}

export const executableHandler: TypeHandler = {
  check,
  apply() {
    // Nothing beyond the message itself (its STORE refs are indexed with it): CRNs read
    // executables from the message API.
    return Promise.resolve();
  },
  forget() {
    // Forgetting an executable stops it on CRNs, which watch FORGET messages.
    return Promise.resolve();
  },
};
