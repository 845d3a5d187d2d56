import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AllocationAnswerSchema, AllocationRequestSchema, failureCode } from './allocations.ts';

const H = 'a'.repeat(64);
const K = 'b'.repeat(64);

describe('allocation wire contract', () => {
  it('reads the failure code from error_codes, then from a CODE: prefix, then from aleph-vm words', () => {
    assert.equal(failureCode({ errors: { [H]: 'whatever' }, error_codes: { [H]: 'INSUFFICIENT_CAPACITY' } }, H), 'INSUFFICIENT_CAPACITY');
    assert.equal(failureCode({ errors: { [H]: 'CODE_UNAVAILABLE: no runtime' } }, H), 'CODE_UNAVAILABLE');
    assert.equal(failureCode({ errors: { [H]: 'Insufficient capacity on host' } }, H), 'INSUFFICIENT_CAPACITY');
    assert.equal(failureCode({ errors: { [H]: 'the program failed' } }, H), undefined);
    assert.equal(failureCode({ errors: {} }, K), undefined);
  });

  it("parses aleph-vm's answer (no error_codes) and ours alike", () => {
    const alephVm = AllocationAnswerSchema.parse({ success: false, successful: [], failing: [H], errors: { [H]: 'Insufficient capacity' } });
    assert.deepEqual(alephVm.stopped, []);
    assert.equal(alephVm.error_codes, undefined);
    const ours = AllocationAnswerSchema.parse({ successful: [K], failing: [H], stopped: [], errors: { [H]: 'X' }, error_codes: { [H]: 'OWNER_LIMIT' } });
    assert.equal(failureCode(ours, H), 'OWNER_LIMIT');
  });

  it('refuses pushes with unknown fields, non-hashes or too many entries', () => {
    assert.equal(AllocationRequestSchema.safeParse({ persistent_vms: [H], extra: 1 }).success, false);
    assert.equal(AllocationRequestSchema.safeParse({ instances: ['../etc'] }).success, false);
    assert.equal(AllocationRequestSchema.safeParse({ instances: Array.from({ length: 10_001 }, () => H) }).success, false);
    assert.deepEqual(AllocationRequestSchema.parse({}), { persistent_vms: [], instances: [] });
  });
});
