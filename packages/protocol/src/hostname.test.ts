import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sha256Hex } from './crypto/sha256.ts';
import { hashToHostLabel, hostLabelToHash, programHostname } from './hostname.ts';

// The example of the crn-api.md §4.
const HASH = 'd2b74aa29898457bde0560e47f7cdd4e77287e9f1f7a1456161d2fd7d5c855d7';
const LABEL = '2k3uviuytbcxxxqfmdsh67g5jz3sq7u7d55bivqwdux5pvoikxlq';

describe('program host names', () => {
  test('the reference example both ways', () => {
    assert.equal(hashToHostLabel(HASH), LABEL);
    assert.equal(hostLabelToHash(LABEL), HASH);
    assert.equal(programHostname(HASH, 'crn.example.org'), `${LABEL}.crn.example.org`);
  });

  test('round-trips arbitrary hashes as 52-character DNS-safe labels', () => {
    for (let i = 0; i < 50; i++) {
      const hash = sha256Hex(`h${i}`);
      const label = hashToHostLabel(hash);
      assert.match(label, /^[a-z2-7]{52}$/);
      assert.equal(hostLabelToHash(label), hash);
    }
  });

  test('labels are case-insensitive, like DNS names', () => {
    assert.equal(hostLabelToHash(LABEL.toUpperCase()), HASH);
  });

  test('invalid labels give undefined', () => {
    const invalid = [
      '',
      LABEL.slice(0, 51), // too short
      `${LABEL}a`, // too long
      `${LABEL.slice(0, 51)}1`, // not in the base32 alphabet
      `0${LABEL.slice(1)}`,
      `${LABEL.slice(0, 51)}r`, // non-zero padding bits in the last character
      `${LABEL.slice(0, 25)}-${LABEL.slice(26)}`,
      'www',
      HASH,
    ];
    for (const label of invalid) assert.equal(hostLabelToHash(label), undefined, label);
  });

  test('only SHA-256 hashes have a label', () => {
    assert.throws(() => hashToHostLabel(HASH.toUpperCase()), TypeError);
    assert.throws(() => hashToHostLabel('QmUZqXdAEGHBUWT7x25uB75RsGyj9j7V4UbJxpH4JjSvLL'), TypeError);
  });
});
