/**
 * What a stored message row looks like outside the database: the API's message object and the
 * signed envelope. Only the wire fields leave; derived columns stay in messages-repo.ts.
 */
import type { AlephMessage, MessageType } from '@aleph-nodes/protocol';
import type { MessageRow } from './messages-repo.ts';

/** The message object of the API (aleph-protocol.md §7.2). */
export interface ApiMessage {
  chain: string;
  sender: string;
  type: MessageType;
  channel: string | null;
  time: number;
  item_type: AlephMessage['item_type'];
  item_content: string | null;
  item_hash: string;
  signature: string;
  content?: unknown;
  size: number;
  confirmed: boolean;
  confirmations: { chain: string; height: number; hash: string }[];
}

export function toApiMessage(row: MessageRow, withContent = true): ApiMessage {
  const msg: ApiMessage = {
    chain: row.chain,
    sender: row.sender,
    type: row.type,
    channel: row.channel,
    time: row.time,
    item_type: row.item_type,
    item_content: row.item_type === 'inline' ? row.item_content : null,
    item_hash: row.item_hash,
    signature: row.signature,
    size: row.size ?? 0,
    confirmed: false,
    confirmations: [],
  };
  if (withContent) msg.content = row.content === null ? null : (JSON.parse(row.content) as unknown);
  return msg;
}

/** The envelope as it was signed, for re-validation or re-broadcast. */
export function toEnvelope(row: MessageRow): AlephMessage {
  return {
    chain: row.chain,
    sender: row.sender,
    type: row.type,
    channel: row.channel,
    time: row.time,
    item_type: row.item_type,
    item_content: row.item_content,
    item_hash: row.item_hash,
    signature: row.signature,
  };
}
