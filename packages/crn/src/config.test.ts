import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeConfig, loadConfig } from '@aleph-nodes/service';
import { ccnUrls, CrnConfigSchema } from './config.ts';

test('every setting is described and the contract defaults hold', () => {
  for (const entry of describeConfig(CrnConfigSchema, 'CRN')) assert.ok(entry.description.length > 0, `${entry.key} has a description`);
  const config = CrnConfigSchema.parse({ dataDir: '/tmp/x', ccn: 'http://127.0.0.1:4024' });
  assert.equal(config.host, '127.0.0.1');
  assert.equal(config.port, 4020);
  assert.equal(config.executor, 'microvm');
  assert.equal(config.domain, '127.0.0.1');
  assert.equal(config.serverName, 'aleph-vm');
  assert.deepEqual(config.authorizedAllocationSigners, []);
  assert.equal(config.portForwardStart, 24_000);
  assert.equal(config.portForwardEnd, 65_535);
  assert.throws(() => CrnConfigSchema.parse({ ccn: 'http://x' }));
});

test('environment variables override, lists split on commas', () => {
  const config = loadConfig(CrnConfigSchema, {
    envPrefix: 'CRN',
    env: { CRN_DATA_DIR: '/d', CRN_CCN: 'http://c:1', CRN_PORT: '0', CRN_AUTHORIZED_ALLOCATION_SIGNERS: '0x2937f62e5F81A88e921f883f8fE56ceCf4A4A44A' },
  });
  assert.equal(config.port, 0);
  assert.deepEqual(config.authorizedAllocationSigners, ['0x2937f62e5F81A88e921f883f8fE56ceCf4A4A44A']);
});

test('`ccn` is one URL or a list (JSON file, or comma-separated in CRN_CCN); ccnUrls gives the list', () => {
  assert.deepEqual(ccnUrls(CrnConfigSchema.parse({ dataDir: '/d', ccn: 'http://a:4024/' })), ['http://a:4024']);
  assert.deepEqual(ccnUrls(CrnConfigSchema.parse({ dataDir: '/d', ccn: ['http://a:4024', 'http://b:4024', 'http://a:4024'] })), ['http://a:4024', 'http://b:4024']);
  const fromEnv = loadConfig(CrnConfigSchema, { envPrefix: 'CRN', env: { CRN_DATA_DIR: '/d', CRN_CCN: 'http://a:4024, http://b:4024' } });
  assert.deepEqual(ccnUrls(fromEnv), ['http://a:4024', 'http://b:4024']);
  assert.throws(() => CrnConfigSchema.parse({ dataDir: '/d', ccn: [] }));
  assert.throws(() => CrnConfigSchema.parse({ dataDir: '/d', ccn: ['http://a:4024', 'not a url'] }));
});
