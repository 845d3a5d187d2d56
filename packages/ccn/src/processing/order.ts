/**
 * The one total order of messages for everything derived from them: content
 * time, then item_hash (byte order of the lowercase hex). Every CCN sorts the same set the same
 * way whatever order the messages arrived in; the registry replay (registry/rules.ts
 * `orderEvents`) uses the same order.
 */

/** A message's place in the total order. */
export interface Position {
  time: number;
  hash: string;
}

/** Negative when `a` comes first, positive when `b` does, 0 for the same message. */
export function compareOrder(a: Position, b: Position): number {
  if (a.time !== b.time) return a.time < b.time ? -1 : 1;
  return a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0;
}

export function precedes(a: Position, b: Position): boolean {
  return compareOrder(a, b) < 0;
}

/** The position of a stored row (content time once processed, else the envelope time). */
export function positionOf(row: { item_hash: string; content_time: number | null; time: number }): Position {
  return { time: row.content_time ?? row.time, hash: row.item_hash };
}

/** The dependency key of an aggregate (owner, key), as a FORGET target or a waited-for item. */
export function aggregateTarget(owner: string, key: string): string {
  return `aggregate:${owner.toLowerCase()}:${key}`;
}

/** The dependency key of an owner's `security` aggregate (delegations). */
export function securityTarget(owner: string): string {
  return `security:${owner.toLowerCase()}`;
}
