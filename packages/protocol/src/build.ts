/** Building and signing messages, for nodes that publish (registry, monitor, devnet) and for tests. */
import type { MessageType } from './content/common.ts';
import type { EthAccount } from './crypto/eth.ts';
import { asMessageSigner, type MessageSigner } from './crypto/signer.ts';
import { sha256Hex } from './crypto/sha256.ts';
import { verificationBuffer, type AlephMessage } from './envelope.ts';

export interface BuildOptions {
  channel?: string;
  /** Unix seconds; defaults to now, millisecond precision like the SDK. */
  time?: number;
  /** Owner the message acts for; defaults to the signer. */
  address?: string;
}

/**
 * Builds an inline message the way the SDK does: `item_content` is the compact JSON of the
 * content with `address` and `time` set, `item_hash` its SHA-256, signed by the account's chain
 * scheme (personal_sign for an EthAccount).
 */
export function buildInlineMessage(
  account: EthAccount | MessageSigner,
  type: MessageType,
  content: Record<string, unknown>,
  opts: BuildOptions = {},
): AlephMessage {
  const signer = asMessageSigner(account);
  const time = opts.time ?? Math.round(Date.now()) / 1000;
  const full = { address: opts.address ?? signer.address, time, ...content };
  const itemContent = JSON.stringify(full);
  const unsigned = {
    chain: signer.chain,
    sender: signer.address,
    type,
    ...(opts.channel !== undefined ? { channel: opts.channel } : {}),
    time,
    item_type: 'inline' as const,
    item_content: itemContent,
    item_hash: sha256Hex(itemContent),
  };
  return { ...unsigned, signature: signer.signVerificationBuffer(verificationBuffer(unsigned)) };
}
