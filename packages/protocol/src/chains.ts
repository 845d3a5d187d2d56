/** Chains of the Aleph envelope. The EVM ones share the Ethereum signature scheme. */
export const EVM_CHAINS = [
  'ARB', 'AURORA', 'AVAX', 'BASE', 'BLAST', 'BOB', 'BSC', 'CYBER', 'ETH', 'ETHERLINK', 'FRAX',
  'HYPE', 'INK', 'LENS', 'LINEA', 'LISK', 'METIS', 'MODE', 'OP', 'POL', 'SONIC', 'UNICHAIN',
  'WLD', 'ZORA',
] as const;

/**
 * Chains with a signature scheme of their own (crypto/verify.ts says which; NEO is verified like
 * Ethereum, as pyaleph does; ES is Eclipse, verified like Solana; STT, Somnia, by nobody).
 */
export const NON_EVM_CHAINS = ['CSDK', 'DOT', 'ES', 'NEO', 'NULS', 'NULS2', 'SOL', 'STT', 'TEZOS'] as const;

export const CHAINS = [...EVM_CHAINS, ...NON_EVM_CHAINS] as const;
export type Chain = (typeof CHAINS)[number];

const EVM_SET: ReadonlySet<string> = new Set(EVM_CHAINS);

export function isEvmChain(chain: string): boolean {
  return EVM_SET.has(chain);
}
