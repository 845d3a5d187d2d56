/** Filter columns derived from a processed message's content (never part of API objects). */
import { aggregateKeyName, type AggregateContent, type AlephMessage } from '@aleph-nodes/protocol';
import type { DerivedColumns } from '../db/messages-repo.ts';
import { executableRefs } from './handlers/executable.ts';
import { postRefHash } from './handlers/post.ts';

function tagsOf(content: Record<string, unknown>): string[] {
  const inner = content.content;
  if (typeof inner !== 'object' || inner === null || Array.isArray(inner)) return [];
  const tags = (inner as Record<string, unknown>).tags;
  return Array.isArray(tags) ? tags.filter((t): t is string => typeof t === 'string') : [];
}

export function deriveColumns(message: AlephMessage, content: Record<string, unknown>, contentBytes: number): DerivedColumns {
  const payment = content.payment as { type?: unknown } | undefined;
  const ref = content.ref;
  return {
    content: JSON.stringify(content),
    content_time: typeof content.time === 'number' ? content.time : message.time,
    // `size` is the byte length of the content; for a STORE the node reports the file's size.
    size: message.type === 'STORE' && typeof content.size === 'number' ? content.size : contentBytes,
    owner_lc: String(content.address).toLowerCase(),
    content_type: typeof content.type === 'string' ? content.type : null,
    content_ref:
      typeof ref === 'string' ? ref : typeof ref === 'object' && ref !== null ? (postRefHash(ref as { chain: string; item_hash: string }) ?? null) : null,
    content_key: message.type === 'AGGREGATE' ? aggregateKeyName((content as AggregateContent).key) : null,
    content_item_hash: message.type === 'STORE' && typeof content.item_hash === 'string' ? content.item_hash : null,
    payment_type: payment && typeof payment.type === 'string' ? payment.type : null,
    tags: tagsOf(content),
    // The STOREs an executable uses, and the executable it replaces: the messages its verdict
    // depends on (a FORGET of a STORE checks its users; a late change re-evaluates dependants).
    refs:
      message.type === 'PROGRAM' || message.type === 'INSTANCE'
        ? [...executableRefs(message.type, content).map((r) => r.ref), ...(typeof content.replaces === 'string' ? [content.replaces] : [])]
        : [],
  };
}
