/**
 * Forgotten targets, judged by position (order.ts): a message that depends on another one (a
 * STORE update, a replacement, an executable using a STORE) is judged on whether that target
 * was forgotten BEFORE it in the total order. A FORGET that comes later does not change the
 * verdict of what came before it: otherwise a FORGET could invalidate what made it valid (an
 * executable using the STORE it forgets through an update) and two nodes could settle on two
 * different, equally consistent states.
 */
import type { MessageRow } from '../db/messages-repo.ts';
import type { Repos } from '../stores.ts';
import { positionOf, precedes, type Position } from './order.ts';

/** The FORGETs listed in a forgotten message's `forgotten_by`. */
export function forgetHashesOf(row: MessageRow): string[] {
  return row.forgotten_by ? (JSON.parse(row.forgotten_by) as string[]) : [];
}

/** The first FORGET of `target` that comes before `at`, if any. */
export async function forgottenBefore(repos: Repos, target: MessageRow, at: Position): Promise<string | undefined> {
  if (target.status !== 'forgotten') return undefined;
  for (const hash of forgetHashesOf(target)) {
    const forget = await repos.messages.get(hash);
    if (forget && precedes(positionOf(forget), at)) return hash;
  }
  return undefined;
}

/** The parsed content of a stored message, also once forgotten (read from the message as received). */
export function storedContent(row: MessageRow): Record<string, unknown> {
  if (row.content !== null) return JSON.parse(row.content) as Record<string, unknown>;
  try {
    const raw = JSON.parse(row.raw) as { item_content?: unknown };
    return typeof raw.item_content === 'string' ? (JSON.parse(raw.item_content) as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
