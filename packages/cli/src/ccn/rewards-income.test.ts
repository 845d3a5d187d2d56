import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { incomeLines } from './rewards.ts';

const crn = (hash: string, owner: string, reward = '') => ({ hash, owner, reward }) as never;

describe('ccn rewards: payments income', () => {
  it('attributes flows to the CRN whose reward address received them, and credits to the CRN that ran the work', () => {
    const lines = incomeLines(
      {
        flows: [
          { receiver: '0xbbbb', aleph: '2.5' },
          { receiver: '0xcccc', aleph: '1' },
        ],
        credits: [
          { crn_hash: 'crn-a', credits: 300, messages: 2 },
          { crn_hash: 'unattributed', credits: 7, messages: 1 },
        ],
      },
      { resource_nodes: [crn('crn-a', '0xAAAA', '0xBBBB'), crn('crn-b', '0xDDDD')] },
    );
    assert.deepEqual(lines, [
      { crn_hash: null, address: '0xcccc', flow_aleph: '1', credits: 0 },
      { crn_hash: 'crn-a', address: '0xBBBB', flow_aleph: '2.5', credits: 300 },
      { crn_hash: 'unattributed', address: null, flow_aleph: '0', credits: 7 },
    ]);
  });

  it('an older CCN without the payments route: no income lines', () => {
    assert.equal(incomeLines(undefined, { resource_nodes: [] }), undefined);
  });
});
