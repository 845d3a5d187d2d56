import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { errorDocDrift, errorTableMarkdown, FRAMEWORK_ERRORS } from '@aleph-nodes/service';
import { CCN_ERRORS } from './errors.ts';

describe('the CCN error table', () => {
  it('is documented row by row in the README', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const drift = errorDocDrift(readme, CCN_ERRORS, FRAMEWORK_ERRORS);
    assert.deepEqual(drift, [], `README "## Errors" is out of date; the table is:\n${errorTableMarkdown(CCN_ERRORS, FRAMEWORK_ERRORS)}`);
  });
});
