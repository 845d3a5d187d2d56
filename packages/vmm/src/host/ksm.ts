/**
 * Kernel samepage merging (KSM) for microVM density. QEMU marks guest RAM mergeable
 * (`mem-merge=on`, qemu-args.ts); the kernel's ksmd only merges once `/sys/kernel/mm/ksm/run` is 1.
 *
 * Turning it on is a host policy, so the CRN does it only when the operator's setting says so
 * (off by default): the switch is host-wide (every mergeable process of the host, not only our
 * VMs), ksmd costs CPU while it scans, and pages shared between tenants' VMs open a
 * copy-on-write timing side channel between them (a write to a merged page is measurably slower,
 * which tells one guest what another holds). A host dedicated to VMs of one trust level, or an
 * operator who accepts that for the density, sets it. The CRN never turns KSM off again: another
 * service of the host may rely on it.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const KSM_SYSFS = '/sys/kernel/mm/ksm';

export interface KsmState {
  /** `run`: 0 stopped, 1 merging, 2 unmerging. */
  run: number;
  /** Pages shared (one copy each) and the mappings sharing them (the saving). */
  pagesShared: number;
  pagesSharing: number;
}

async function readNumber(path: string): Promise<number> {
  const text = (await readFile(path, 'utf8')).trim();
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value)) throw new Error(`${path}: not a number (${text.slice(0, 40)})`);
  return value;
}

/** KSM's state; undefined when the kernel has no KSM. */
export async function ksmState(dir = KSM_SYSFS): Promise<KsmState | undefined> {
  try {
    return { run: await readNumber(join(dir, 'run')), pagesShared: await readNumber(join(dir, 'pages_shared')), pagesSharing: await readNumber(join(dir, 'pages_sharing')) };
  } catch {
    return undefined;
  }
}

/** Starts ksmd (run = 1); returns the state after. Throws when the kernel has no KSM. */
export async function enableKsm(dir = KSM_SYSFS): Promise<KsmState> {
  const before = await ksmState(dir);
  if (!before) throw new Error(`this kernel has no KSM (${dir} missing)`);
  if (before.run !== 1) await writeFile(join(dir, 'run'), '1\n');
  const after = await ksmState(dir);
  if (after?.run !== 1) throw new Error(`KSM did not start (${join(dir, 'run')} reads ${after?.run})`);
  return after;
}
