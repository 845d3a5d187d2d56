/** Small readers of untrusted post contents shared by the registry rules. */
export type Details = Record<string, unknown>;

export function lc(a: unknown): string {
  return typeof a === 'string' ? a.toLowerCase() : '';
}

export function str(v: unknown, def = ''): string {
  return typeof v === 'string' ? v : def;
}

/** Whether a node operation, amend or score post carries the network's tag ('' = every post). */
export function tagged(inner: Details, tag: string): boolean {
  if (tag === '') return true;
  return Array.isArray(inner.tags) && inner.tags.includes(tag);
}
