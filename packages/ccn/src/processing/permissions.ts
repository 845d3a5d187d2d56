/**
 * Ownership and delegation: the one place that decides who may write as an address and who may
 * act on a stored message (aleph-protocol.md §3; pyaleph `aleph/permissions.py`).
 *
 * - Writing as `content.address`: the sender is that address, or the address's `security`
 *   aggregate lists the sender in `authorizations[]` with filters (chain, channels, types,
 *   post_types, aggregate_keys) that all match the message.
 * - Acting on another message (POST amend, STORE `ref`, PROGRAM/INSTANCE `replaces`, FORGET):
 *   the target must belong to the owner the acting message writes as, and the sender must be that
 *   owner or a delegate the owner's `security` aggregate would have let CREATE the target (its
 *   type, channel, chain, post type, aggregate key). The right to change or forget something
 *   follows the right to create it, as in pyaleph.
 * - The `security` aggregate itself is written and forgotten by its owner only: a delegate that
 *   could edit it could grant itself anything.
 */
import { ALEPH_ERROR, aggregateKeyName, itemTypeOfHash, type AggregateContent, type AlephMessage } from '@aleph-nodes/protocol';
import type { AggregatesRepo } from '../db/aggregates-repo.ts';
import type { MessageRow } from '../db/messages-repo.ts';
import { OK, reject, type Outcome } from './outcome.ts';
import { securityTarget, type Position } from './order.ts';

/** What the authorization filters are matched against: the message being created. */
export interface CreationAttributes {
  type: AlephMessage['type'];
  chain: string;
  channel: string | null;
  /** `content.type` of a POST. */
  postType?: string | undefined;
  /** The key of an AGGREGATE. */
  aggregateKey?: string | undefined;
}

interface Authorization {
  address?: unknown;
  chain?: unknown;
  channels?: unknown;
  types?: unknown;
  post_types?: unknown;
  aggregate_keys?: unknown;
}

const SECURITY_KEY = 'security';

export function sameAddress(a: unknown, b: unknown): boolean {
  return typeof a === 'string' && typeof b === 'string' && a.toLowerCase() === b.toLowerCase();
}

/** A filter matches when it is absent/empty or contains the value. */
function listAllows(filter: unknown, value: string | null | undefined): boolean {
  if (!Array.isArray(filter) || filter.length === 0) return true;
  return typeof value === 'string' && filter.includes(value);
}

function entryAllows(entry: unknown, sender: string, what: CreationAttributes): boolean {
  if (typeof entry !== 'object' || entry === null) return false;
  const e = entry as Authorization;
  if (typeof e.address !== 'string' || !sameAddress(e.address, sender)) return false;
  if (typeof e.chain === 'string' && e.chain !== '' && e.chain !== what.chain) return false;
  if (!listAllows(e.channels, what.channel)) return false;
  if (!listAllows(e.types, what.type)) return false;
  if (what.type === 'POST' && !listAllows(e.post_types, what.postType)) return false;
  if (what.type === 'AGGREGATE' && !listAllows(e.aggregate_keys, what.aggregateKey)) return false;
  return true;
}

/**
 * May `sender` create `what` as `owner`? The owner always may; a delegate only through the
 * owner's `security` aggregate, and never for the `security` key itself. With `asOf` (the
 * position of the message being judged), the aggregate is folded from the elements that precede
 * that message in the total order: a grant or a revocation counts from its own time on, on
 * every node whatever order they arrived in (pyaleph reads the aggregate as it is at processing
 * time, so a late grant or revocation leaves nodes with different verdicts).
 */
export async function mayCreateAs(aggregates: AggregatesRepo, sender: string, owner: string, what: CreationAttributes, asOf?: Position): Promise<boolean> {
  if (sameAddress(owner, sender)) return true;
  if (what.type === 'AGGREGATE' && what.aggregateKey === SECURITY_KEY) return false;
  const security = (asOf ? await aggregates.valueBefore(owner, SECURITY_KEY, asOf) : (await aggregates.values(owner, [SECURITY_KEY]))[0])?.value;
  const list = security?.authorizations;
  if (!Array.isArray(list)) return false;
  return list.some((entry) => entryAllows(entry, sender, what));
}

/** The attributes of a message being submitted. */
export function attributesOf(message: AlephMessage, content: Record<string, unknown>): CreationAttributes {
  return {
    type: message.type,
    chain: message.chain,
    channel: message.channel ?? null,
    postType: message.type === 'POST' && typeof content.type === 'string' ? content.type : undefined,
    aggregateKey: message.type === 'AGGREGATE' ? aggregateKeyName((content as AggregateContent).key) : undefined,
  };
}

/** The attributes a stored message was created with (what a delegate must have been allowed). */
export function attributesOfRow(row: MessageRow): CreationAttributes {
  return {
    type: row.type,
    chain: row.chain,
    channel: row.channel,
    postType: row.type === 'POST' ? (row.content_type ?? undefined) : undefined,
    aggregateKey: row.type === 'AGGREGATE' ? (row.content_key ?? undefined) : undefined,
  };
}

/**
 * Messages whose authorization is decided against their targets instead of their own content
 * (pyaleph: `check_sender_authorization` for amends, `ForgetMessageHandler.check_permissions`):
 * a FORGET, and a POST amend.
 */
export function isAuthorizedPerTarget(message: AlephMessage, content: Record<string, unknown>): boolean {
  return message.type === 'FORGET' || (message.type === 'POST' && content.type === 'amend');
}

/** Where a message being judged stands in the total order. */
export function positionOfMessage(message: AlephMessage, content: Record<string, unknown>): Position {
  return { time: typeof content.time === 'number' ? content.time : message.time, hash: message.item_hash };
}

/**
 * The check every message passes before its type rules: may its sender write as `content.address`?
 * A refusal of a delegate is evaluated again when the owner's `security` aggregate changes.
 */
export async function checkSender(message: AlephMessage, content: Record<string, unknown>, aggregates: AggregatesRepo): Promise<Outcome> {
  if (isAuthorizedPerTarget(message, content)) return OK;
  const owner = typeof content.address === 'string' ? content.address : '';
  if (await mayCreateAs(aggregates, message.sender, owner, attributesOf(message, content), positionOfMessage(message, content))) return OK;
  return reject(ALEPH_ERROR.PERMISSION_DENIED, `${message.sender} may not act for ${owner}`, delegationWait(message.sender, owner, attributesOf(message, content)));
}

/** A refused delegate waits for the owner's security aggregate (nothing else could change it). */
function delegationWait(sender: string, owner: string, what: CreationAttributes): string | undefined {
  if (owner === '' || sameAddress(owner, sender) || (what.type === 'AGGREGATE' && what.aggregateKey === SECURITY_KEY)) return undefined;
  return securityTarget(owner);
}

/** How a message acts on another one. */
export type Action = 'amend' | 'store-ref' | 'replaces' | 'forget';

const VERB: Record<Action, string> = {
  amend: 'amend',
  'store-ref': 'update (STORE ref)',
  replaces: 'replace',
  forget: 'forget',
};

export interface Actor {
  message: AlephMessage;
  content: Record<string, unknown>;
  aggregates: AggregatesRepo;
}

/**
 * May `actor` act on `target`? The one decision for every message that acts on another.
 *
 * - amend, STORE ref, replaces: the acting message writes as the target's owner
 *   (`content.address` = the target's owner: nobody re-labels someone else's post, file or
 *   program as theirs), and its sender may create the target as that owner.
 * - forget: the sender may create the target as its owner (whatever the FORGET's own
 *   `content.address`, which pyaleph treats as a signing convention).
 */
export async function checkActOn(actor: Actor, target: MessageRow, action: Action): Promise<Outcome> {
  const owner = target.owner_lc ?? '';
  const verb = VERB[action];
  if (action !== 'forget' && !sameAddress(owner, actor.content.address)) {
    return reject(
      ALEPH_ERROR.PERMISSION_DENIED,
      `cannot ${verb} ${target.item_hash}: it belongs to ${owner}, not to ${String(actor.content.address)}`,
    );
  }
  const what = attributesOfRow(target);
  if (await mayCreateAs(actor.aggregates, actor.message.sender, owner, what, positionOfMessage(actor.message, actor.content))) return OK;
  return reject(
    ALEPH_ERROR.PERMISSION_DENIED,
    `${actor.message.sender} may not ${verb} ${target.item_hash} of ${owner}: neither the owner nor authorized by its security aggregate for a ${target.type}`,
    delegationWait(actor.message.sender, owner, what),
  );
}

/**
 * The message a STORE `ref` names, if it names one: a ref with the shape of an item hash is a
 * message reference (pyaleph `make_file_tag`); any other string is a free-form tag in the
 * sender's own namespace. A sha256 ref in another letter case is taken as the hash it spells, so
 * that a consumer comparing hashes loosely can never be aimed at someone else's message by it.
 */
export function storeRefTarget(ref: string): string | undefined {
  if (itemTypeOfHash(ref) !== undefined) return ref;
  const lower = ref.toLowerCase();
  return /^[0-9a-f]{64}$/.test(lower) ? lower : undefined;
}
