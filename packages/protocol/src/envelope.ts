/** The signed message envelope (aleph-protocol.md §1) and the verification buffer its signature covers. */
import { z } from 'zod';
import { CHAINS } from './chains.ts';
import type { MessageType } from './content/common.ts';
import type { ItemType } from './item-hash.ts';
import { LIMITS } from './limits.ts';

/**
 * Unknown envelope keys are dropped: submitters may echo node-added fields (`content`, `size`,
 * `confirmed`, `confirmations`) and the reference ignores them; `content` is never trusted.
 */
export const EnvelopeSchema = z.object({
  chain: z.enum(CHAINS),
  sender: z.string().min(1).max(256),
  type: z.enum(['POST', 'AGGREGATE', 'STORE', 'PROGRAM', 'INSTANCE', 'FORGET']),
  channel: z.string().max(LIMITS.channelChars).nullable().optional(),
  time: z.number().min(0).max(LIMITS.maxContentTime),
  item_type: z.enum(['inline', 'storage', 'ipfs']).optional(),
  item_content: z.string().nullable().optional(),
  item_hash: z.string().min(1).max(128),
  signature: z.string().min(1).max(4096),
  hash_type: z.literal('sha256').nullable().optional(),
});

/** A message as it travels on the wire, item_type resolved. */
export interface AlephMessage {
  chain: string;
  sender: string;
  type: MessageType;
  channel?: string | null | undefined;
  time: number;
  item_type: ItemType;
  item_content?: string | null | undefined;
  item_hash: string;
  signature: string;
}

/** `chain\nsender\ntype\nitem_hash`: the only fields the signature covers (aleph-protocol.md §3). */
export function verificationBuffer(m: Pick<AlephMessage, 'chain' | 'sender' | 'type' | 'item_hash'>): string {
  return `${m.chain}\n${m.sender}\n${m.type}\n${m.item_hash}`;
}
