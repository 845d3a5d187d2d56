import assert from 'node:assert/strict';
import { test } from 'node:test';
import { routedSubnets } from './subnets.ts';

test('routed /24 subnets are read from `ip -4 route`', () => {
  const routes = [
    'default via 10.0.0.1 dev eth0',
    '172.16.4.0/24 dev ctap4 proto kernel scope link src 172.16.4.1',
    '172.16.6.0/24 dev vmtap6 proto kernel scope link src 172.16.6.1 linkdown',
    '10.213.0.0/30 dev veth0 proto kernel scope link src 10.213.0.1',
  ].join('\n');
  assert.deepEqual([...routedSubnets(routes)].sort(), ['172.16.4.0/24', '172.16.6.0/24']);
});
