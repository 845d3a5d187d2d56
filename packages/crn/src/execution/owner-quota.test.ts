import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { VerifiedMessage } from '../ccn/ccn-client.ts';
import { idleSecondsFor, isCapped, ownerQuota, ownerQuotaFailure, type OnDemandPolicy } from './owner-quota.ts';

const A = '0xAaAaAaAaAaAaAaAaAaAaAaAaAaAaAaAaAaAaAaAa';
const B = '0xBbBbBbBbBbBbBbBbBbBbBbBbBbBbBbBbBbBbBbBb';
const r = (vcpus: number, memoryMib: number) => ({ vcpus, memoryMib, diskMib: 0 });

describe('per-owner caps of unpaid on-demand programs', () => {
  const quota = ownerQuota({ vcpus: 8, memoryMib: 8192 }, { vcpusShare: 0.25, memoryShare: 0.25, maxExecutions: 3 });

  it('takes shares of the node, at least one vCPU', () => {
    assert.deepEqual(quota, { vcpus: 2, memoryMib: 2048, executions: 3 });
    assert.equal(ownerQuota({ vcpus: 2, memoryMib: 100 }, { vcpusShare: 0.1, memoryShare: 0.5, maxExecutions: 1 }).vcpus, 1);
  });

  it('counts only the capped executions of the same owner (any letter case)', () => {
    const live = [
      { owner: A.toLowerCase(), capped: true, resources: r(1, 1024) },
      { owner: B, capped: true, resources: r(2, 2048) },
      { owner: A, capped: false, resources: r(4, 4096) },
    ];
    assert.equal(ownerQuotaFailure(quota, A, live, r(1, 1024)), undefined);
    assert.match(ownerQuotaFailure(quota, A, live, r(2, 128)) ?? '', /ownerOnDemandVcpusShare/);
    assert.match(ownerQuotaFailure(quota, A, live, r(1, 2000)) ?? '', /ownerOnDemandMemoryShare/);
    const three = [1, 2, 3].map(() => ({ owner: A, capped: true, resources: r(0, 0) }));
    assert.match(ownerQuotaFailure(quota, A, three, r(0, 0)) ?? '', /ownerOnDemandMaxExecutions/);
  });

  it('exempts persistent, paid and diagnostic programs; unpaid ones idle sooner', () => {
    const msg = {} as VerifiedMessage;
    const policy: OnDemandPolicy = { quota, idleTimeoutSeconds: 3600, unpaidIdleTimeoutSeconds: 120, exempt: new Set(['diag']), isPaid: () => false };
    assert.equal(isCapped(policy, 'x', msg, false), true);
    assert.equal(isCapped(policy, 'x', msg, true), false);
    assert.equal(isCapped(policy, 'diag', msg, false), false);
    assert.equal(isCapped({ ...policy, isPaid: () => true }, 'x', msg, false), false);
    assert.equal(idleSecondsFor(policy, true), 120);
    assert.equal(idleSecondsFor(policy, false), 3600);
    assert.equal(idleSecondsFor({ ...policy, idleTimeoutSeconds: 2 }, true), 2);
  });
});
