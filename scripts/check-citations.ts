/**
 * Section citations resolve from a clone: every "\u00a7" in the code, tests, scripts and docs belongs to a
 * citation that names a document of docs/reference/ and sections that are headings of it, e.g.
 * `crn-api.md \u00a73.5, \u00a73.6` or `aleph-protocol.md \u00a74.1–\u00a74.3`. A quoted label right after a
 * section (`network-payments-runtime.md \u00a71 "Missing file"`) must occur in that section's text.
 * Prints one line per finding; exit 1 when there is any.
 *   npx tsx scripts/check-citations.ts
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const SIGN = '\u00a7';
/** Files read for citations, by extension. */
const TEXT_FILES = /\.(ts|mts|mjs|js|md|sh|py|json5?|service|ya?ml)$/;
/** One citation: the document, then sections joined by `, `, ` and `, ` or `, `–`. */
const CITATION = new RegExp(
  `([a-z0-9][a-z0-9-]*)\\.md ${SIGN}(\\d+(?:\\.\\d+)*)((?:(?:, and |, | and | or |–|-)${SIGN}\\d+(?:\\.\\d+)*)*)(?: "([^"\\n]+)")?`,
  'g',
);
const SECTION = new RegExp(`${SIGN}(\\d+(?:\\.\\d+)*)`, 'g');

export interface ReferenceDoc {
  /** Section number → the section's text (its heading to the next heading of its level or above). */
  sections: Map<string, string>;
}

export interface Finding {
  file: string;
  line: number;
  message: string;
}

/** The numbered sections of a Markdown document (`## 3.`, `### 3.5 Title`). */
export function sectionsOf(markdown: string): Map<string, string> {
  const lines = markdown.split('\n');
  const headings: { number: string; level: number; index: number }[] = [];
  lines.forEach((line, index) => {
    const m = /^(#{1,6})\s+(\d+(?:\.\d+)*)\.?\s/.exec(line);
    if (m) headings.push({ number: m[2] as string, level: (m[1] as string).length, index });
    else if (/^#{1,6}\s/.test(line)) headings.push({ number: '', level: /^#+/.exec(line)?.[0].length ?? 1, index });
  });
  const sections = new Map<string, string>();
  headings.forEach((h, i) => {
    if (h.number === '') return;
    const next = headings.slice(i + 1).find((n) => n.level <= h.level);
    sections.set(h.number, lines.slice(h.index, next?.index ?? lines.length).join('\n'));
  });
  return sections;
}

/** The findings of one file's text against the reference documents. */
export function checkText(file: string, text: string, docs: Map<string, ReferenceDoc>): Finding[] {
  const findings: Finding[] = [];
  const lineOf = (offset: number): number => text.slice(0, offset).split('\n').length;
  const covered = new Set<number>();
  for (const m of text.matchAll(CITATION)) {
    const start = m.index ?? 0;
    const name = `${m[1]}.md`;
    const first = m[2] as string;
    const more = [...(m[3] ?? '').matchAll(SECTION)].map((s) => s[1] as string);
    const label = m[4];
    for (let i = start; i < start + m[0].length; i += 1) if (text[i] === SIGN) covered.add(i);
    const doc = docs.get(name);
    if (!doc) {
      findings.push({ file, line: lineOf(start), message: `${name} is not a document of docs/reference/` });
      continue;
    }
    for (const section of [first, ...more]) {
      if (!doc.sections.has(section)) findings.push({ file, line: lineOf(start), message: `${name} has no section ${SIGN}${section}` });
    }
    const last = more.at(-1) ?? first;
    if (label !== undefined && doc.sections.has(last) && !doc.sections.get(last)?.includes(label)) {
      findings.push({ file, line: lineOf(start), message: `${name} ${SIGN}${last} does not mention "${label}"` });
    }
  }
  for (let i = text.indexOf(SIGN); i >= 0; i = text.indexOf(SIGN, i + 1)) {
    if (!covered.has(i)) findings.push({ file, line: lineOf(i), message: `${SIGN} without a document: cite it as <document>.md ${SIGN}N (docs/reference/)` });
  }
  return findings;
}

function textFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) textFiles(path, out);
    else if (TEXT_FILES.test(name)) out.push(path);
  }
  return out;
}

/** The reference documents of `root`/docs/reference, by file name. */
export function loadReference(root: string): Map<string, ReferenceDoc> {
  const dir = join(root, 'docs/reference');
  const docs = new Map<string, ReferenceDoc>();
  for (const name of readdirSync(dir)) {
    if (name.endsWith('.md')) docs.set(name, { sections: sectionsOf(readFileSync(join(dir, name), 'utf8')) });
  }
  return docs;
}

/** Every finding of the repository at `root`: packages, tests, scripts, docs (the reference itself aside), the README. */
export function checkCitations(root: string): Finding[] {
  const docs = loadReference(root);
  const files = [
    ...['packages', 'test', 'scripts', 'deploy'].flatMap((d) => {
      try {
        return textFiles(join(root, d));
      } catch {
        return [];
      }
    }),
    ...textFiles(join(root, 'docs')).filter((f) => !f.startsWith(join(root, 'docs/reference'))),
    join(root, 'README.md'),
  ];
  return files.flatMap((f) => checkText(relative(root, f), readFileSync(f, 'utf8'), docs));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const findings = checkCitations(root);
  for (const f of findings) console.log(`${f.file}:${f.line}: ${f.message}`);
  if (findings.length === 0) console.log('every section citation resolves in docs/reference/');
  process.exit(findings.length > 0 ? 1 : 0);
}
