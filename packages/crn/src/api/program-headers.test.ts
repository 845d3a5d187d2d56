import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PROGRAM_PATH_CSP, withoutNodeCookie, withoutNodeSetCookie, withPathSandbox } from './program-headers.ts';

describe('program headers', () => {
  it('removes the node cookie from Cookie, keeps the program cookies', () => {
    assert.equal(withoutNodeCookie('token=abc; session=1;theme=dark'), 'session=1; theme=dark');
    assert.equal(withoutNodeCookie('token=abc'), undefined);
    assert.equal(withoutNodeCookie(' token = abc ; x=token'), 'x=token');
    assert.equal(withoutNodeCookie('tokens=1; mytoken=2'), 'tokens=1; mytoken=2');
    assert.equal(withoutNodeCookie(['a=1', 'token=2']), 'a=1');
    assert.equal(withoutNodeCookie(undefined), undefined);
  });

  it('drops Set-Cookie of the node cookie where it would reach the node host', () => {
    const values = ['token=evil; Path=/about', 'sid=1; Path=/', 'token=own; Path=/'];
    assert.deepEqual(withoutNodeSetCookie(values, true), ['sid=1; Path=/']);
    assert.deepEqual(withoutNodeSetCookie(values, false), values, 'host-only on the program host: its own cookie');
    assert.deepEqual(withoutNodeSetCookie(['token=x; Domain=crn.example.org; Path=/about', 'a=1'], false), ['a=1']);
    assert.equal(withoutNodeSetCookie('token=x', true), undefined);
  });

  it('adds the sandbox without replacing the program policy', () => {
    assert.deepEqual(withPathSandbox(undefined), [PROGRAM_PATH_CSP]);
    assert.deepEqual(withPathSandbox("default-src 'self'"), ["default-src 'self'", PROGRAM_PATH_CSP]);
    assert.doesNotMatch(PROGRAM_PATH_CSP, /allow-same-origin/);
  });
});
