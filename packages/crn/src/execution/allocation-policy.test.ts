import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { keptWithoutAllocation, reconcileAllocations, type ReconcileTarget } from './allocation-policy.ts';
import type { Execution } from './execution.ts';

const hash = (c: string): string => c.repeat(64);

function exec(ref: string, content: Record<string, unknown>, persistent = true): Execution {
  return { ref, persistent, message: { content } } as unknown as Execution;
}

function target(live: Execution[], failing: Record<string, Error> = {}, ownerStopped: string[] = []): ReconcileTarget & { deallocated: string[]; started: string[] } {
  const deallocated: string[] = [];
  const started: string[] = [];
  return {
    deallocated,
    started,
    liveExecutions: () => [...live],
    deallocate: async (e) => {
      deallocated.push(e.ref);
    },
    isOwnerStopped: (ref) => ownerStopped.includes(ref),
    ensurePersistent: async (ref) => {
      if (failing[ref]) throw failing[ref];
      started.push(ref);
    },
  };
}

describe('allocation reconciliation (aleph-vm update_allocations)', () => {
  it('keeps pay-as-you-go, credit, GPU and confidential workloads a push does not list', () => {
    assert.equal(keptWithoutAllocation({ payment: { type: 'superfluid' } }), true);
    assert.equal(keptWithoutAllocation({ payment: { type: 'credit' } }), true);
    assert.equal(keptWithoutAllocation({ payment: { type: 'hold' }, requirements: { gpu: [{ device_id: '10de:2204' }] } }), true);
    assert.equal(keptWithoutAllocation({ environment: { trusted_execution: { firmware: hash('f') } } }), true);
    assert.equal(keptWithoutAllocation({ payment: { type: 'hold' }, requirements: { gpu: [] }, environment: { trusted_execution: null } }), false);
    assert.equal(keptWithoutAllocation({}), false);
  });

  it('stops only the scheduled hold workloads it no longer wants, then starts the wanted ones', async () => {
    const live = [
      exec(hash('a'), { payment: { type: 'hold' } }),
      exec(hash('b'), { payment: { type: 'superfluid' } }),
      exec(hash('c'), { payment: { type: 'credit' } }),
      exec(hash('d'), { requirements: { gpu: [{ device_id: 'x' }] } }),
      exec(hash('e'), { environment: { trusted_execution: { firmware: hash('f') } } }),
      exec(hash('1'), {}, false),
      exec(hash('2'), {}),
    ];
    const t = target(live, { [hash('4')]: new Error('no room') }, [hash('5')]);
    const result = await reconcileAllocations(t, [hash('2'), hash('3'), hash('4'), hash('5'), hash('3')]);
    assert.deepEqual(t.deallocated, [hash('a')]);
    assert.deepEqual(result.stopped, [hash('a')]);
    assert.deepEqual(t.started, [hash('2'), hash('3')]);
    assert.deepEqual(result.successful, [hash('2'), hash('3'), hash('5')]);
    assert.deepEqual([...result.failures.keys()], [hash('4')]);
  });
});
