/**
 * The path checks of prepare with arbitrary program contents: they answer with the CRN's
 * HttpError (UNSAFE_PATH) or accept, never throw anything else, and what they accept is safe.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { checkMountPoint, checkRelativePath } from '@aleph-nodes/protocol';
import { fuzzRuns } from '@aleph-nodes/protocol/testing';
import { HttpError } from '@aleph-nodes/service';
import { checkProgramPaths } from './program-paths.ts';

const hostile = fc.oneof(
  fc.string(),
  fc.constantFrom('../../../../tmp/x/evil.sh', '/etc/passwd', 'a/../../b', 'main:app', '..', '.', '', 'a\0b', '/usr/bin', '/mnt/../etc', '/opt/code/x', '/data', 'x'.repeat(2000)),
  fc.stringMatching(/^[a-z./:_-]{0,20}$/),
  fc.anything(),
);

const volume = fc.oneof(
  fc.record({ ref: fc.string(), mount: hostile }, { requiredKeys: ['ref'] }),
  fc.record({ ephemeral: fc.constant(true), size_mib: fc.integer(), mount: hostile }, { requiredKeys: ['ephemeral'] }),
  fc.record({ name: hostile, size_mib: fc.integer(), mount: hostile }, { requiredKeys: [] }),
  fc.anything(),
);

const content = fc.oneof(
  fc.anything(),
  fc.record(
    {
      code: fc.oneof(fc.record({ entrypoint: hostile, interface: fc.oneof(fc.constantFrom('asgi', 'binary'), fc.anything()), encoding: fc.constantFrom('zip', 'plain') }, { requiredKeys: ['entrypoint'] }), fc.anything()),
      volumes: fc.oneof(fc.array(volume, { maxLength: 6 }), fc.anything()),
      data: fc.oneof(fc.constant(undefined), fc.anything()),
    },
    { requiredKeys: ['code'] },
  ),
);

describe('program paths (fuzz)', () => {
  it('throws nothing but UNSAFE_PATH, and what it accepts stays inside its directories', () => {
    fc.assert(
      fc.property(content, (value) => {
        let result;
        try {
          result = checkProgramPaths(value);
        } catch (err) {
          assert.ok(err instanceof HttpError, `threw ${String(err)}`);
          assert.equal(err.code, 'UNSAFE_PATH');
          return;
        }
        if (!result.entrypoint.includes(':')) assert.ok(checkRelativePath(result.entrypoint).ok);
        for (const v of result.volumes) {
          assert.ok(checkMountPoint(v.mount).ok, v.mount);
          if (v.dirName !== undefined) assert.match(v.dirName, /^[A-Za-z0-9_-]{1,64}$/);
        }
      }),
      { numRuns: fuzzRuns() },
    );
  });
});
