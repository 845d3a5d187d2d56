import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { errorDocDrift, errorTableMarkdown, FRAMEWORK_ERRORS } from '@aleph-nodes/service';
import { CRN_ERRORS } from './errors.ts';

describe('the CRN error table', () => {
  it('is documented row by row in the README', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const drift = errorDocDrift(readme, CRN_ERRORS, FRAMEWORK_ERRORS);
    assert.deepEqual(drift, [], `README "## Errors" is out of date; the table is:\n${errorTableMarkdown(CRN_ERRORS, FRAMEWORK_ERRORS)}`);
  });
});
