import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hashToHostLabel } from '@aleph-nodes/protocol';
import { isNodeHost } from './node-host.ts';

describe('isNodeHost', () => {
  it('the domain (any case, any port) and loopback names are the node', () => {
    for (const host of ['crn.example.org', 'CRN.example.org:443', 'localhost:4020', '127.0.0.1', '[::1]:4020']) assert.equal(isNodeHost(host, 'crn.example.org'), true, host);
    assert.equal(isNodeHost('[2001:db8::1]:4020', '2001:db8::1'), true);
  });

  it('a program host, another name, or no Host is not', () => {
    const label = hashToHostLabel('ab'.repeat(32));
    for (const host of [`${label}.crn.example.org`, 'evil.example.org', 'crn.example.org.evil.org', '', undefined, 'crn.example.or']) {
      assert.equal(isNodeHost(host, 'crn.example.org'), false, String(host));
    }
  });
});
