/**
 * Registers the devnet's nodes in the CCN's corechannel registry, as operators do on the real
 * network: the CCN owner creates its node, each CRN owner creates its resource node, and the CCN
 * owner links them. A node's hash is the item hash of its create message. Owners edit their node
 * with an amend (a POST of type `amend` whose ref is the node hash) and undo a link with `unlink`.
 */
import { buildInlineMessage, type EthAccount } from '@aleph-nodes/protocol';
import { publishMessage } from './ccn-client.ts';

const CHANNEL = 'FOUNDATION';

async function operation(ccnUrl: string, account: EthAccount, action: string, tag: string, extra: { ref?: string; details?: Record<string, unknown> }): Promise<string> {
  const content: Record<string, unknown> = { action, tags: [action, tag], ...(extra.details ? { details: extra.details } : {}) };
  const message = buildInlineMessage(
    account,
    'POST',
    { type: 'corechan-operation', content, ...(extra.ref ? { ref: extra.ref } : {}) },
    { channel: CHANNEL },
  );
  await publishMessage(ccnUrl, message);
  return message.item_hash;
}

export function createCoreNode(ccnUrl: string, owner: EthAccount, tag: string, details: { name: string; multiaddress: string }): Promise<string> {
  return operation(ccnUrl, owner, 'create-node', tag, { details });
}

export function createResourceNode(ccnUrl: string, owner: EthAccount, tag: string, details: { name: string; address: string }): Promise<string> {
  return operation(ccnUrl, owner, 'create-resource-node', tag, { details: { ...details, type: 'compute' } });
}

export function linkResourceNode(ccnUrl: string, ccnOwner: EthAccount, tag: string, crnHash: string): Promise<string> {
  return operation(ccnUrl, ccnOwner, 'link', tag, { ref: crnHash });
}

/** Either the CRN's owner or the owner of the CCN it is linked to may unlink it. */
export function unlinkResourceNode(ccnUrl: string, owner: EthAccount, tag: string, crnHash: string): Promise<string> {
  return operation(ccnUrl, owner, 'unlink', tag, { ref: crnHash });
}

/** Edits fields of a node (name, multiaddress, address, ...): only its owner or manager may. */
export async function amendNode(ccnUrl: string, owner: EthAccount, tag: string, nodeHash: string, details: Record<string, unknown>): Promise<string> {
  const message = buildInlineMessage(
    owner,
    'POST',
    { type: 'amend', ref: nodeHash, content: { tags: ['amend', tag], action: 'amend', details } },
    { channel: CHANNEL },
  );
  await publishMessage(ccnUrl, message);
  return message.item_hash;
}
