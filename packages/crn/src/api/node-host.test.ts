import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hashToHostLabel } from '@aleph-nodes/protocol';
import { isNodeHost, nodeHostConstraint, selfUrl } from './node-host.ts';

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

  it('the route constraint accepts exactly the Host headers isNodeHost does', () => {
    const label = hashToHostLabel('ab'.repeat(32));
    const hosts = ['crn.example.org', 'CRN.example.org:443', 'localhost:4020', '127.0.0.1', '[::1]:4020', `${label}.crn.example.org`, 'evil.example.org', 'crn.example.org.evil.org', 'crn.example.or', 'crnXexample.org', '[2001:db8::1]:4020'];
    for (const domain of ['crn.example.org', '2001:db8::1', '[2001:db8::1]']) {
      const { host: pattern } = nodeHostConstraint(domain);
      for (const host of hosts) assert.equal(pattern.test(host), isNodeHost(host, domain), `${host} for ${domain}`);
    }
  });
});

describe('selfUrl: where the node reaches its own server', () => {
  it('uses the bound address, loopback for a wildcard, brackets for IPv6', () => {
    assert.equal(selfUrl({ address: '127.0.0.2', family: 'IPv4', port: 4020 }), 'http://127.0.0.2:4020');
    assert.equal(selfUrl({ address: '203.0.113.7', family: 'IPv4', port: 80 }), 'http://203.0.113.7:80');
    assert.equal(selfUrl({ address: '0.0.0.0', family: 'IPv4', port: 4020 }), 'http://127.0.0.1:4020');
    assert.equal(selfUrl({ address: '::', family: 'IPv6', port: 4020 }), 'http://[::1]:4020');
    assert.equal(selfUrl({ address: '2001:db8::5', family: 'IPv6', port: 4020 }), 'http://[2001:db8::5]:4020');
    assert.throws(() => selfUrl(null));
  });
});
