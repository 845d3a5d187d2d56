/**
 * Which URLs the fast path takes: only `/vm/{item hash}` followed by `/…`, `?…` or nothing, with
 * the same suffix the Fastify route gives; anything else (a bad or percent-encoded ref, another
 * prefix) is left to Fastify, whose route answers it as before.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pathFormRef } from './vm-proxy-fast.ts';

const hash = 'ab'.repeat(32);

describe('vm proxy fast path', () => {
  it('takes /vm/{hash} with the suffix the route would forward', () => {
    assert.deepEqual(pathFormRef(`/vm/${hash}`), { ref: hash, suffix: '/' });
    assert.deepEqual(pathFormRef(`/vm/${hash}?a=1`), { ref: hash, suffix: '/?a=1' });
    assert.deepEqual(pathFormRef(`/vm/${hash}/`), { ref: hash, suffix: '/' });
    assert.deepEqual(pathFormRef(`/vm/${hash}/echo?x=%2F`), { ref: hash, suffix: '/echo?x=%2F' });
  });

  it('leaves everything else to Fastify', () => {
    for (const url of ['/vm/', '/vm/xyz/echo', `/vm/${hash.slice(1)}`, `/vm/%61${hash.slice(1)}/`, `/vm/${hash}x`, `/VM/${hash}`, `//vm/${hash}`, `/about/${hash}`, '/']) {
      assert.equal(pathFormRef(url), undefined, url);
    }
  });
});
