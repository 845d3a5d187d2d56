/**
 * Zip extraction with generated archives: well-formed ones (yazl) and hostile ones written by
 * hand (names with `..`, absolute, backslashes, NUL, dot files; symlinks inside and outside the
 * tree, writes through them; duplicates; lying declared sizes), extracted into a directory where
 * a link to the outside was planted beforehand. Whatever happens, nothing is written outside
 * the target, and the only error is an UnzipError.
 */
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import yazl from 'yazl';
import { fuzzRuns } from '@aleph-nodes/protocol/testing';
import { makeZip, type ZipEntryInput } from '../testing/zip.ts';
import { safeUnzip, UnzipError } from './safe-unzip.ts';

const limits = { maxEntries: 32, maxTotalBytes: 64 * 1024 };

const hostileName = fc.oneof(
  fc.constantFrom(
    '../outside/evil',
    '../../evil',
    '/tmp/evil',
    'C:/evil',
    'a\\..\\evil',
    'pre/evil',
    'pre/',
    'link/evil',
    'link/../evil',
    'dir/',
    'dir/file',
    'dir/file/',
    '.env',
    'a//b',
    './a',
    'a/./b',
    'ok.txt',
    'src/main.mjs',
    'x\0y',
    'é.js',
  ),
  fc.stringMatching(/^[a-z./\\-]{1,12}$/),
  fc.string({ maxLength: 12 }),
);

const linkTarget = fc.oneof(fc.constantFrom('../outside', '/tmp', '.', 'dir', 'ok.txt', 'pre', 'link', 'a/../..', ''), fc.stringMatching(/^[a-z./]{0,10}$/));

const hostileEntry: fc.Arbitrary<ZipEntryInput> = fc.record(
  {
    name: hostileName,
    data: fc.oneof(fc.string({ maxLength: 64 }), linkTarget),
    mode: fc.constantFrom(0o644, 0o755, 0o4755, 0o777),
    symlink: fc.boolean(),
    deflate: fc.boolean(),
    declaredSize: fc.oneof(fc.constant(undefined), fc.constantFrom(0, 1, 0xffffffff, 1024 * 1024 * 1024)),
  },
  { requiredKeys: ['name', 'data'] },
);

/** A well-formed archive of plain names (yazl refuses hostile names itself). */
const plainEntries = fc.array(
  fc.record({ name: fc.stringMatching(/^[a-z]{1,4}(\/[a-z]{1,4}){0,2}$/), data: fc.uint8Array({ maxLength: 256 }), compress: fc.boolean(), dir: fc.boolean() }),
  { maxLength: 8 },
);

function yazlZip(entries: { name: string; data: Uint8Array; compress: boolean; dir: boolean }[]): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const e of entries) {
    if (e.dir) zip.addEmptyDirectory(e.name);
    else zip.addBuffer(Buffer.from(e.data), e.name, { compress: e.compress });
  }
  zip.end();
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    zip.outputStream.on('data', (c: Buffer) => chunks.push(c));
    zip.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
    zip.outputStream.on('error', reject);
  });
}

/** Every path under `dir` (lstat: links are not followed). */
function walk(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const rel = prefix ? `${prefix}/${name}` : name;
    out.push(rel);
    if (lstatSync(join(dir, name)).isDirectory()) out.push(...walk(join(dir, name), rel));
  }
  return out;
}

describe('safeUnzip (fuzz)', () => {
  const root = mkdtempSync(join(tmpdir(), 'crn-unzip-fuzz-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  let n = 0;

  async function extractChecked(zip: Uint8Array): Promise<void> {
    const caseDir = join(root, `c${++n}`);
    const target = join(caseDir, 'target');
    const outside = join(caseDir, 'outside');
    mkdirSync(target, { recursive: true });
    mkdirSync(outside);
    // A link planted before extraction (a previous run, a racing writer): never written through.
    symlinkSync(outside, join(target, 'pre'));
    const zipPath = join(caseDir, 'a.zip');
    writeFileSync(zipPath, zip);
    try {
      await safeUnzip(zipPath, target, limits);
    } catch (err) {
      assert.ok(err instanceof UnzipError, `threw ${String(err)}`);
    }
    assert.deepEqual(readdirSync(outside), [], 'nothing written outside the target');
    assert.deepEqual(readdirSync(caseDir).sort(), ['a.zip', 'outside', 'target']);
    for (const rel of walk(target)) {
      const st = lstatSync(join(target, rel));
      if (st.isSymbolicLink() && rel !== 'pre') {
        const to = readlinkSync(join(target, rel));
        assert.ok(!to.startsWith('/') && !to.split('/').includes('..'), `${rel} -> ${to}`);
      }
      assert.ok(st.isFile() || st.isDirectory() || st.isSymbolicLink(), rel);
    }
    rmSync(caseDir, { recursive: true, force: true });
  }

  it('hand-written hostile archives: nothing outside the target, only UnzipError', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(hostileEntry, { maxLength: 8 }), async (entries) => {
        await extractChecked(makeZip(entries));
      }),
      { numRuns: fuzzRuns() },
    );
  });

  it('well-formed archives (yazl) and random bytes: nothing outside the target, only UnzipError', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(plainEntries.map((e) => ({ kind: 'zip' as const, e })), fc.uint8Array({ maxLength: 512 }).map((b) => ({ kind: 'bytes' as const, b }))), async (input) => {
        await extractChecked(input.kind === 'zip' ? await yazlZip(input.e) : input.b);
      }),
      { numRuns: fuzzRuns() },
    );
  });
});
