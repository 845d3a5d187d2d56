import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { CcnConfigSchema } from '@aleph-nodes/ccn';
import { CrnConfigSchema } from '@aleph-nodes/crn';
import { EthAccount } from '@aleph-nodes/protocol';
import type { CcnLayout, CrnLayout } from './layout.ts';
import { ccnConfig, ccnKnows, ccnPaymentSettings, CRN_PAYMENT_SETTINGS, crnCcnSetting, crnConfig, FAR_FUTURE, knownSettings } from './node-configs.ts';

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

describe('devnet payments', () => {
  const oracle = EthAccount.generate().address;
  const ccnLayout = (i: number): CcnLayout => ({
    index: i,
    label: `ccn-${i + 1}`,
    dir: `/tmp/x/ccn-${i + 1}`,
    keyFile: `/tmp/x/keys/ccn-${i + 1}.key`,
    configFile: `/tmp/x/ccn-${i + 1}/config.json`,
    owner: EthAccount.generate(),
    host: '127.0.0.1',
    port: 4024 + 2 * i,
    p2pPort: 4025 + 2 * i,
    url: `http://127.0.0.1:${4024 + 2 * i}`,
  });
  const all = [ccnLayout(0), ccnLayout(1)];
  const config = ccnConfig(all[0]!, { all, registryAddress: all[0]!.owner.address, oracleAddress: oracle, bootstrap: [] });

  it('makes the oracle key every oracle the CCN has, and the config passes its schema', () => {
    assert.ok(CcnConfigSchema.safeParse(config).success);
    assert.deepEqual(config.balanceIndexers, [oracle]);
    for (const key of ['creditOracles', 'flowOracles']) if (ccnKnows(key)) assert.deepEqual(config[key], [oracle], key);
  });

  it('runs payment checks with short periods: a lapse shows within a minute (where the CCN has them)', () => {
    if (ccnKnows('paymentCheckIntervalSeconds')) assert.ok((config.paymentCheckIntervalSeconds as number) <= 10);
    if (ccnKnows('removingGraceSeconds')) assert.ok((config.removingGraceSeconds as number) <= 30);
    assert.deepEqual(ccnPaymentSettings(oracle), {
      creditOracles: [oracle],
      flowOracles: [oracle],
      paymentCheckIntervalSeconds: 5,
      removingGraceSeconds: 20,
      holdAndStreamRefusedFromTime: FAR_FUTURE,
      creditOnlyFromTime: FAR_FUTURE,
    });
  });

  it('moves the hold/stream and credit-only cutoffs far away, so that every payment type can be tried', () => {
    assert.ok(FAR_FUTURE > Date.now() / 1000 + 50 * 365 * 86_400);
    for (const key of ['holdAndStreamRefusedFromTime', 'creditOnlyFromTime']) if (ccnKnows(key)) assert.equal(config[key], FAR_FUTURE, key);
  });

  it("gives the CRNs a short payment monitor period where they have it, and the config passes the CRN's schema", () => {
    const crn: CrnLayout = { index: 0, label: 'crn-1', dir: '/tmp/x/crn-1', keyFile: '/tmp/x/keys/crn-1.key', configFile: '/tmp/x/crn-1/config.json', owner: EthAccount.generate(), host: '127.0.0.2', port: 4020, url: 'http://127.0.0.2:4020', ccn: 0 };
    const c = crnConfig(crn, { executor: 'process', accelerator: undefined, nodeHash: 'a'.repeat(64), ccnUrls: ['http://127.0.0.1:4024'], ccnAddress: all[0]!.owner.address });
    assert.ok(CrnConfigSchema.safeParse(c).success);
    if ('paymentMonitorIntervalSeconds' in CrnConfigSchema.shape) assert.ok((c.paymentMonitorIntervalSeconds as number) <= 10);
    if ('paymentConfirmations' in CrnConfigSchema.shape) assert.equal(c.paymentConfirmations, CRN_PAYMENT_SETTINGS.paymentConfirmations);
  });
});
