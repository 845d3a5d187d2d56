import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { fuzzRuns } from '@aleph-nodes/protocol/testing';
import { checkEntrypoint, checkMountPoint, checkRelativePath, checkTreePath } from './paths.ts';

const ALLOWED_SEGMENT = /^[A-Za-z0-9_@+,][A-Za-z0-9._@+=,~-]*$/;

describe('path validator (fuzz)', () => {
  it('never throws, and what it accepts is relative, normalized and made of safe segments', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.stringMatching(/^[a-z./-]{0,24}$/)), (value) => {
        const check = checkRelativePath(value);
        if (check.ok) {
          assert.ok(!value.startsWith('/'));
          for (const seg of value.split('/')) assert.ok(ALLOWED_SEGMENT.test(seg) && seg !== '.' && seg !== '..', seg);
        }
      }),
      { numRuns: fuzzRuns() },
    );
  });

  it('an accepted tree path stays inside its tree', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.stringMatching(/^[a-z./\\ -]{0,24}$/)), (value) => {
        const check = checkTreePath(value);
        if (check.ok) {
          assert.ok(!value.startsWith('/') && !value.includes('\\') && !value.includes('\0'));
          for (const seg of value.split('/')) assert.ok(seg !== '' && seg !== '.' && seg !== '..', seg);
        }
      }),
      { numRuns: fuzzRuns() },
    );
  });

  it('an accepted mount point never lands in a system directory', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.stringMatching(/^\/[a-z./]{0,24}$/)), (value) => {
        const check = checkMountPoint(value);
        if (check.ok) {
          for (const sys of ['/usr', '/bin', '/sbin', '/lib', '/etc', '/proc', '/sys', '/dev', '/boot', '/run', '/tmp', '/opt/code']) {
            assert.ok(value !== sys && !value.startsWith(`${sys}/`), `${value} is under ${sys}`);
          }
          assert.ok(!value.split('/').includes('..'));
        }
      }),
      { numRuns: fuzzRuns() },
    );
  });

  it('entrypoints of any shape are answered, never thrown on', () => {
    fc.assert(
      fc.property(fc.anything(), fc.boolean(), (value, asgi) => {
        const check = checkEntrypoint(value, asgi);
        assert.equal(typeof check.ok, 'boolean');
      }),
      { numRuns: fuzzRuns() },
    );
  });
});
