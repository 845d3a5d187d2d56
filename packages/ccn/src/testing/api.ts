/**
 * The real API app in-process (Fastify `inject`), over SQLite stores in a temporary directory with
 * a running processor. For unit and fuzz tests; removes everything it created on `dispose`.
 */
import { EthAccount } from '@aleph-nodes/protocol';
import { silentLogger } from '@aleph-nodes/service';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../api/server.ts';
import { ccnConfig, type CcnConfig } from '../config.ts';
import { MessageProcessor } from '../processing/processor.ts';
import { RegistryService } from '../registry/registry-service.ts';
import type { Stores } from '../stores.ts';
import { openTestStores } from './engines.ts';

export interface TestApi {
  app: FastifyInstance;
  stores: Stores;
  processor: MessageProcessor;
  config: CcnConfig;
  dispose(): Promise<void>;
}

export async function openTestApi(overrides: Partial<CcnConfig> = {}): Promise<TestApi> {
  const test = await openTestStores('sqlite');
  const config = ccnConfig({ dataDir: test.dataDir, retryBaseMs: 5, retryMaxMs: 20, maxRetries: 1, paymentChecks: false, ...overrides });
  const node = EthAccount.generate();
  const processor = new MessageProcessor(test.stores, config, silentLogger());
  const registry = new RegistryService(test.stores.messages, node.address, {
    tag: config.registryTag,
    maxLinkedCrns: config.maxLinkedCrns,
    ccnOwnerMinBalance: config.ccnOwnerMinBalance,
    stakerMinBalance: config.stakerMinBalance,
    ccnActivationStake: config.ccnActivationStake,
    balanceIndexers: config.balanceIndexers,
    scoresSenders: [node.address],
  });
  processor.events.on('processed', (row) => registry.onProcessed(row));
  processor.events.on('retracted', (row) => registry.onProcessed(row));
  const app = await buildApp(
    { stores: test.stores, processor, config, registry, nodeAddress: node.address, version: 'test', clock: () => Date.now() / 1000 },
    silentLogger(),
  );
  await app.ready();
  processor.start();
  return {
    app,
    stores: test.stores,
    processor,
    config,
    async dispose() {
      await processor.stop();
      await app.close();
      await test.dispose();
    },
  };
}
