import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pickHostIpv4 } from './host-address.ts';

const ADDRS = JSON.stringify([
  { ifname: 'lo', addr_info: [{ family: 'inet', local: '127.0.0.1', scope: 'host' }] },
  { ifname: 'eth0', addr_info: [{ family: 'inet', local: '192.0.2.2', scope: 'global' }] },
  { ifname: 'wg0', addr_info: [{ family: 'inet', local: '10.9.0.1', scope: 'global' }] },
]);

describe('host IPv4 address', () => {
  it('is the global address of the default route interface', () => {
    assert.equal(pickHostIpv4(JSON.stringify([{ dst: 'default', gateway: '192.0.2.1', dev: 'eth0' }]), ADDRS), '192.0.2.2');
  });

  it('prefers the route source address and the lowest metric', () => {
    const routes = [
      { dst: 'default', dev: 'wg0', metric: 200 },
      { dst: 'default', dev: 'eth0', metric: 100, prefsrc: '192.0.2.77' },
    ];
    assert.equal(pickHostIpv4(JSON.stringify(routes), ADDRS), '192.0.2.77');
  });

  it('is null without a default route or address', () => {
    assert.equal(pickHostIpv4('[]', ADDRS), null);
    assert.equal(pickHostIpv4(JSON.stringify([{ dst: 'default', dev: 'eth9' }]), ADDRS), null);
  });
});
