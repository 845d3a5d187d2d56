/**
 * Warnings a CCN gives once started, about settings that make the registry refuse everything:
 * with a minimum ALEPH balance for CCN owners but no balance oracle, no address ever holds a
 * balance here, so every create-node is ignored ("holds less than ... ALEPH").
 */
import type { CcnConfig } from '@aleph-nodes/ccn/config';
import type { Logger } from '@aleph-nodes/service';

export function registryWarnings(config: Pick<CcnConfig, 'ccnOwnerMinBalance' | 'balanceIndexers'>): string[] {
  if (config.ccnOwnerMinBalance > 0 && config.balanceIndexers.length === 0) {
    return [
      `ccnOwnerMinBalance is ${config.ccnOwnerMinBalance} ALEPH but no balance oracle is configured (balanceIndexers): this node's registry will ignore every create-node. On the real network set balanceIndexers to the network's indexer; on a development network set ccnOwnerMinBalance to 0 (\`ccn init --network devnet\`)`,
    ];
  }
  return [];
}

export async function warnAboutRegistry(config: CcnConfig, logger: Logger): Promise<void> {
  for (const line of registryWarnings(config)) {
    logger.warn(line);
    process.stderr.write(`ccn: warning: ${line}\n`);
  }
}
