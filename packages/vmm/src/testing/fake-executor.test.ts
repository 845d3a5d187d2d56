/**
 * The FakeExecutor passes the conformance suite of the real backends (without root): tests that
 * build on it (the CRN supervisor's unit tests) rely on the same behaviour as production.
 */
import { rmSync } from 'node:fs';
import { runExecutorConformance } from './conformance.ts';
import { FakeExecutor } from './fake-executor.ts';

runExecutorConformance('fake', async () => {
  const executor = new FakeExecutor();
  return {
    executor,
    leftovers: () => executor.hostResources(),
    async close() {
      await executor.close();
      rmSync(executor.stateDir, { recursive: true, force: true });
    },
  };
});
