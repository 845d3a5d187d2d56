import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { registryWarnings } from './start-checks.ts';

describe('ccn start warnings', () => {
  it('a balance requirement without a balance oracle is said at start; a dev network or an oracle is not', () => {
    assert.match(registryWarnings({ ccnOwnerMinBalance: 199_999, balanceIndexers: [] })[0] ?? '', /no balance oracle/);
    assert.deepEqual(registryWarnings({ ccnOwnerMinBalance: 0, balanceIndexers: [] }), []);
    assert.deepEqual(registryWarnings({ ccnOwnerMinBalance: 199_999, balanceIndexers: ['0x0000000000000000000000000000000000000001'] }), []);
  });
});
