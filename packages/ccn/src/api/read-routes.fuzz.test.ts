/**
 * Fuzzing the read routes' query parameters and path segments through the real app (`inject`),
 * over a store holding posts, an amend, aggregates, a STORE and its file: never a 5xx, and every
 * list answers at most the configured page size, whatever `pagination` says.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { buildInlineMessage, EthAccount, sha256Hex, type AlephMessage } from '@aleph-nodes/protocol';
import { fuzzRuns } from '@aleph-nodes/protocol/testing';
import { openTestApi, type TestApi } from '../testing/api.ts';

const MAX_PAGE = 7;

const LIST_ROUTES = [
  '/api/v0/messages.json', '/api/v0/messages/page/2.json', '/api/v0/messages/hashes', '/api/v0/posts.json', '/api/v1/posts.json', '/api/v0/posts/page/2.json',
  '/api/v1/posts/page/1.json', '/api/v0/aggregates.json', '/api/v0/aggregates', '/api/v0/balances', '/api/v0/addresses/stats.json', '/api/v1/addresses/stats.json',
  '/api/v0/channels/list.json', '/api/v0/programs/on/message',
];

const PARAMS = [
  'pagination', 'page', 'cursor', 'sortBy', 'sort_by', 'sortOrder', 'sort_order', 'msgType', 'msgTypes', 'msgStatuses', 'status', 'addresses', 'owners', 'refs',
  'contentHashes', 'contentKeys', 'contentTypes', 'content_types', 'chains', 'channels', 'hashes', 'tags', 'paymentTypes', 'startDate', 'endDate', 'start_date',
  'types', 'keys', 'limit', 'withInfo', 'with_info', 'valueOnly', 'value_only', 'hashOnly', 'contentFormat', 'excludeContent', 'minBalance', 'history', 'find',
  'addressContains', 'addresses[]', 'file_hash', 'fileHash', 'grantee', 'granter', 'postTypes', 'aggregateKeys',
];

const valueArb = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.integer().map(String),
  fc.constantFrom('0', '-1', '1e400', 'NaN', '1.5', '9007199254740993', '99999999999999999999', 'true', 'false', '', ',', ',,a,', 'POST', 'processed', 'time', 'tx-time', '-1', '1'),
  fc.double().map(String),
  fc.array(fc.string({ maxLength: 8 }), { maxLength: 4 }).map((a) => a.join(',')),
);

const queryArb = fc.array(fc.tuple(fc.oneof(fc.constantFrom(...PARAMS), fc.string({ maxLength: 10 })), valueArb), { maxLength: 6 });

function url(path: string, query: readonly [string, string][]): string {
  const q = new URLSearchParams();
  for (const [k, v] of query) q.append(k, v);
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

describe('read routes (fuzz)', () => {
  let api: TestApi;
  const alice = EthAccount.generate();
  const seeded: AlephMessage[] = [];

  before(async () => {
    api = await openTestApi({ maxPagination: MAX_PAGE });
    const upload = await api.app.inject({ method: 'POST', url: '/api/v0/storage/add_json', headers: { 'content-type': 'application/json' }, payload: '{"fuzz": 1}' });
    assert.equal(upload.statusCode, 200);
    const fileHash = (JSON.parse(upload.body) as { hash: string }).hash;
    const post = buildInlineMessage(alice, 'POST', { type: 'note', content: { tags: ['a'] } }, { channel: 'FUZZ' });
    seeded.push(post);
    seeded.push(buildInlineMessage(alice, 'POST', { type: 'amend', ref: post.item_hash, content: { v: 2 } }, { channel: 'FUZZ' }));
    for (let i = 0; i < 12; i++) seeded.push(buildInlineMessage(alice, 'POST', { type: 'chat', content: { i } }, { channel: 'FUZZ' }));
    seeded.push(buildInlineMessage(alice, 'AGGREGATE', { key: 'profile', content: { name: 'a' } }));
    seeded.push(buildInlineMessage(EthAccount.generate(), 'AGGREGATE', { key: 'profile', content: { name: 'b' } }));
    seeded.push(buildInlineMessage(alice, 'STORE', { item_type: 'storage', item_hash: fileHash, ref: 'my-file' }));
    for (const m of seeded) {
      const res = await api.app.inject({ method: 'POST', url: '/api/v0/messages', payload: { sync: true, message: m } });
      assert.equal(res.statusCode, 200, res.body);
    }
  });
  after(async () => {
    await api.dispose();
  });

  it('list routes: never 5xx, never more than the page cap', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...LIST_ROUTES), queryArb, async (path, query) => {
        const res = await api.app.inject({ method: 'GET', url: url(path, query) });
        assert.ok(res.statusCode < 500, `${url(path, query)}: ${res.statusCode} ${res.body}`);
        if (res.statusCode !== 200) return;
        const body = JSON.parse(res.body) as Record<string, unknown>;
        for (const key of ['messages', 'hashes', 'posts', 'aggregates', 'balances']) {
          const list = body[key];
          if (Array.isArray(list)) assert.ok(list.length <= MAX_PAGE, `${url(path, query)} answered ${list.length} ${key}`);
        }
        // The address stats: one entry per address.
        if (path.includes('stats.json')) assert.ok(Object.keys(body.data as object).length <= MAX_PAGE, `${url(path, query)} answered too many addresses`);
      }),
      { numRuns: fuzzRuns() },
    );
  });

  it('routes with path parameters: never 5xx', async () => {
    const known = () => fc.constantFrom(...seeded.map((m) => m.item_hash), alice.address, sha256Hex('x'), 'my-file');
    const segment = fc.oneof(known(), fc.string({ maxLength: 80 }), fc.stringMatching(/^[0-9a-fA-F]{0,70}$/), fc.constantFrom('..', '%2e%2e', 'Qm', '.json', '0x10', '1e3', ' 1', '99999999999', '2.json', '0x210d1536b14676A40EA2190BC52d8699AD4e559f'));
    const template = fc.constantFrom(
      '/api/v0/messages/{}',
      '/api/v0/messages/{}/status',
      '/api/v0/messages/{}/content',
      '/api/v0/messages/page/{}',
      '/api/v0/aggregates/{}.json',
      '/api/v0/aggregates/{}',
      '/api/v0/storage/raw/{}',
      '/api/v0/storage/{}',
      '/api/v0/storage/metadata/{}',
      '/api/v0/storage/count/{}',
      '/api/v0/storage/by-message-hash/{}',
      '/api/v0/storage/by-ref/{}',
      `/api/v0/storage/by-ref/${alice.address}/{}`,
      '/api/v0/addresses/{}/balance',
      '/api/v0/addresses/{}/files',
      '/api/v0/addresses/{}/post_types',
      '/api/v0/addresses/{}/channels',
      '/api/v0/authorizations/granted/{}.json',
      '/api/v0/authorizations/received/{}',
      '/api/v0/price/{}',
      '/api/v0/nodes/operations/{}',
    );
    await fc.assert(
      fc.asyncProperty(template, segment, queryArb, fc.option(fc.constantFrom('bytes=0-3', 'bytes=5-', 'bytes=-2', 'bytes=9-1', 'items=1', 'bytes=0-0,2-3'), { nil: undefined }), async (t, seg, query, range) => {
        const path = t.replace('{}', encodeURIComponent(seg));
        const res = await api.app.inject({ method: 'GET', url: url(path, query), headers: range ? { range } : {} });
        assert.ok(res.statusCode < 500, `${url(path, query)}: ${res.statusCode} ${res.body.slice(0, 300)}`);
      }),
      { numRuns: fuzzRuns() },
    );
  });
});
