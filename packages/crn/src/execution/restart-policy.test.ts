import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CRN_ERRORS } from '../errors.ts';
import { isPermanentFailure, RestartScheduler, restartDelayMs } from './restart-policy.ts';

test('the restart delay doubles per consecutive failure up to the maximum', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6].map((n) => restartDelayMs(n, 10)), [1000, 2000, 4000, 8000, 10_000, 10_000]);
});

test('only failures about the message itself are permanent', () => {
  assert.equal(isPermanentFailure(CRN_ERRORS.error('NOT_EXECUTABLE', 'a STORE')), true);
  assert.equal(isPermanentFailure(CRN_ERRORS.error('INSUFFICIENT_CAPACITY', 'full')), false);
  assert.equal(isPermanentFailure(new Error('the VM did not boot')), false);
});

test('a cancelled restart is no longer pending and never runs', () => {
  const restarts = new RestartScheduler();
  let ran = false;
  restarts.schedule('ref', 60, () => {
    ran = true;
  });
  assert.equal(restarts.pending('ref'), true);
  restarts.cancel('ref');
  assert.equal(restarts.pending('ref'), false);
  restarts.schedule('other', 60, () => {
    ran = true;
  });
  restarts.cancelAll();
  assert.equal(restarts.pending('other'), false);
  assert.equal(ran, false);
});
