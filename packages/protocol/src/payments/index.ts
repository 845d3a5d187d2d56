/** Payment wire contracts: the oracle posts (oracle.ts). Costs live in ../cost/. */
export * from './oracle.ts';
