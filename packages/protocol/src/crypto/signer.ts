/** What signs a message for buildInlineMessage: an Ethereum key, or any chain's account. */
import { EthAccount } from './eth.ts';

export interface MessageSigner {
  readonly chain: string;
  readonly address: string;
  /** The envelope's `signature` for the verification buffer `chain\nsender\ntype\nitem_hash`. */
  signVerificationBuffer(buffer: string): string;
}

export function asMessageSigner(account: EthAccount | MessageSigner): MessageSigner {
  if (account instanceof EthAccount) {
    return { chain: 'ETH', address: account.address, signVerificationBuffer: (b) => account.signPersonal(b) };
  }
  return account;
}

/**
 * Whether two addresses name the same account: 0x (EVM) addresses are hex, so case does not
 * matter; every other form (base58, bech32, SS58) is compared exactly, since case changes them.
 */
export function sameAddress(a: string, b: string): boolean {
  const evm = /^0x[0-9a-fA-F]{40}$/;
  if (evm.test(a) && evm.test(b)) return a.toLowerCase() === b.toLowerCase();
  return a === b;
}
