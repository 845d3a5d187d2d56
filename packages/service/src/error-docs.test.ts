import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { documentedErrors, errorDocDrift, errorTableMarkdown } from './error-docs.ts';
import { defineErrorTable, FRAMEWORK_ERRORS } from './http-errors.ts';

const TABLE = defineErrorTable({
  A_CODE: { status: 400, message: 'Something | with a pipe' },
  B_CODE: { status: 503, message: 'Busy' },
});

describe('documented error tables', () => {
  it('renders a table that parses back to the same rows', () => {
    const readme = `# x\n\n## Errors\n\n${errorTableMarkdown(TABLE, FRAMEWORK_ERRORS)}\n\n## Next\n| \`NOT_A_ROW\` | 400 | no |\n`;
    assert.deepEqual(
      documentedErrors(readme).map((d) => d.code),
      [...Object.keys(TABLE.specs), ...Object.keys(FRAMEWORK_ERRORS.specs)],
    );
    assert.equal(documentedErrors(readme)[0]?.message, 'Something | with a pipe');
    assert.deepEqual(errorDocDrift(readme, TABLE, FRAMEWORK_ERRORS), []);
  });

  it('names every drift: missing, changed and stale rows', () => {
    const readme = '## Errors\n| `A_CODE` | 422 | Something else |\n| `OLD_CODE` | 400 | Gone |\n';
    assert.deepEqual(errorDocDrift(readme, TABLE), [
      'A_CODE is documented as 422 "Something else", the table says 400 "Something | with a pipe"',
      'B_CODE is not documented',
      'OLD_CODE is documented but not in the table',
    ]);
  });

  it('finds nothing without an Errors section', () => {
    assert.deepEqual(documentedErrors('# README\n| `A_CODE` | 400 | x |\n'), []);
  });
});
