import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { CcnConfigSchema } from '@aleph-nodes/ccn';
import { crnCcnSetting, knownSettings } from './node-configs.ts';

describe('devnet node configs', () => {
  const schema = z.object({
    port: z.number().int(),
    peers: z.array(z.string().regex(/\/p2p\//)).default([]),
  });

  it('writes only the settings the schema knows', () => {
    assert.deepEqual(knownSettings(schema, { port: 1, p2pBootstrap: ['x'], syncPeers: ['http://a'] }), { port: 1 });
  });

  it('keeps the accepted items of a list the schema refuses as a whole', () => {
    assert.deepEqual(knownSettings(schema, { peers: ['/ip4/127.0.0.1/tcp/1/p2p/Qm', '/ip4/127.0.0.1/tcp/2'] }), { peers: ['/ip4/127.0.0.1/tcp/1/p2p/Qm'] });
  });

  it('drops a scalar the schema refuses', () => {
    assert.deepEqual(knownSettings(schema, { port: 'x' }), {});
  });

  it("reads the CCN's own schema (settings it has are kept, others not)", () => {
    const out = knownSettings(CcnConfigSchema, { registryTag: 'devnet', noSuchSetting: 1 });
    assert.deepEqual(out, { registryTag: 'devnet' });
  });

  it("gives a CRN its own CCN alone, or the whole list first-own when its `ccn` setting takes a list", () => {
    const one = crnCcnSetting(['http://127.0.0.1:1']);
    assert.equal(one, 'http://127.0.0.1:1');
    const many = crnCcnSetting(['http://127.0.0.1:1', 'http://127.0.0.1:2']);
    if (Array.isArray(many)) assert.deepEqual(many, ['http://127.0.0.1:1', 'http://127.0.0.1:2']);
    else assert.equal(many, 'http://127.0.0.1:1');
  });
});
