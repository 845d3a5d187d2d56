import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { VerifiedMessage } from '../ccn/ccn-client.ts';
import { EXECUTION_TRANSITIONS, Execution, ExecutionStateError, LIVE_STATES, type ExecutionState } from './execution.ts';

const STATES: ExecutionState[] = ['preparing', 'starting', 'running', 'stopping', 'stopped', 'failed'];

function execution(): Execution {
  const message = { message: { sender: '0xabc', item_hash: 'a'.repeat(64) }, content: {} } as unknown as VerifiedMessage;
  return new Execution('a'.repeat(64), 'a'.repeat(64), message, 'microvm', false, { vcpus: 1, memoryMib: 128, diskMib: 0 }, Promise.resolve());
}

/** Drives a fresh execution to `state` by allowed steps. */
function at(state: ExecutionState): Execution {
  const path: Record<ExecutionState, ExecutionState[]> = {
    preparing: [],
    starting: ['starting'],
    running: ['starting', 'running'],
    stopping: ['stopping'],
    stopped: ['stopping', 'stopped'],
    failed: ['failed'],
  };
  const exec = execution();
  for (const s of path[state]) exec.setState(s);
  assert.equal(exec.state, state);
  return exec;
}

describe('Execution states', () => {
  it('the table: a normal life, a re-adoption, and final states', () => {
    assert.deepEqual(EXECUTION_TRANSITIONS, {
      preparing: ['starting', 'running', 'stopping', 'failed'],
      starting: ['running', 'stopping', 'failed'],
      running: ['stopping', 'failed'],
      stopping: ['stopped'],
      stopped: [],
      failed: ['failed'],
    });
    // Nothing leads back to preparing, and nothing leaves the final states for a live one.
    for (const to of Object.values(EXECUTION_TRANSITIONS)) assert.equal(to.includes('preparing'), false);
    for (const final of ['stopped', 'failed'] as const) for (const to of EXECUTION_TRANSITIONS[final]) assert.equal(LIVE_STATES.has(to), false);
  });

  it('setState follows the table exactly: every allowed change passes, every other throws', () => {
    for (const from of STATES) {
      for (const to of STATES) {
        const exec = at(from);
        if (EXECUTION_TRANSITIONS[from].includes(to)) {
          exec.setState(to);
          assert.equal(exec.state, to);
        } else {
          assert.throws(() => exec.setState(to), ExecutionStateError, `${from} → ${to}`);
          assert.equal(exec.state, from, 'a refused change leaves the state as it was');
        }
      }
    }
  });

  it('refuses restarting a stopped execution, and says which change it refused', () => {
    const exec = at('stopped');
    assert.throws(
      () => exec.setState('running'),
      (err: unknown) => err instanceof ExecutionStateError && err.from === 'stopped' && err.to === 'running' && /stopped → running/.test(err.message),
    );
    assert.equal(exec.times.started_at, null, 'no timestamp written for a refused change');
  });
});
