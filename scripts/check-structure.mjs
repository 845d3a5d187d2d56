#!/usr/bin/env node
// Structural checks of the production code: no import cycle between the files of
// packages/*/src (type-only imports included: a cycle of types is still a tangle to read), no
// production file over the line limit, and no import of the guest agent outside its own files,
// the guest protocol and node builtins (the agent bundle refuses them too: agent-bundle.ts). Prints one line per finding; exit 1 when there is any.
//   node scripts/check-structure.mjs [--json] [--max-lines N]
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const json = args.includes('--json');
const maxIdx = args.indexOf('--max-lines');
const maxLines = maxIdx >= 0 ? Number(args[maxIdx + 1]) : 400;

/** Production TypeScript files: tests, fuzz tests and testing kits' tests excluded. */
function productionFiles(dir, out = []) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) productionFiles(path, out);
    else if (/\.(ts|mts)$/.test(name) && !/\.test\.(ts|mts)$/.test(name) && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

// Static `import … from '…'`, `export … from '…'`, side-effect `import '…'` and `import('…')`.
const SPECIFIER = /(?:^|[\s;])(?:import|export)\s(?:[^'";]*?\sfrom\s)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm;

function localImports(file) {
  const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const found = new Set();
  for (const m of text.matchAll(SPECIFIER)) {
    const spec = m[1] ?? m[2];
    if (!spec.startsWith('.')) continue; // packages import each other one way; checked by the layering
    const target = resolve(dirname(file), spec);
    const candidates = [target, target.replace(/\.js$/, '.ts'), `${target}.ts`, join(target, 'index.ts')];
    const hit = candidates.find((c) => existsSync(c) && statSync(c).isFile());
    if (hit) found.add(hit);
  }
  return [...found];
}

const packagesDir = join(root, 'packages');
const files = readdirSync(packagesDir)
  .map((p) => join(packagesDir, p, 'src'))
  .filter((d) => existsSync(d))
  .flatMap((d) => productionFiles(d));
const graph = new Map(files.map((f) => [f, localImports(f).filter((t) => !/\.test\.(ts|mts)$/.test(t))]));

// Tarjan's strongly connected components: every component of more than one file is a cycle.
const cycles = [];
{
  let index = 0;
  const idx = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const visit = (v) => {
    idx.set(v, index);
    low.set(v, index);
    index += 1;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const component = [];
      let w;
      do {
        w = stack.pop();
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      const selfLoop = (graph.get(v) ?? []).includes(v);
      if (component.length > 1 || selfLoop) cycles.push(component.map((f) => relative(root, f)).sort());
    }
  };
  for (const f of files) if (!idx.has(f)) visit(f);
}

// The guest agent runs inside every VM: only its own files, the guest protocol and node builtins.
const agentDir = join(packagesDir, 'guest/src/agent');
const guestProtocol = join(packagesDir, 'guest/src/protocol.ts');
const agentEscapes = [];
for (const file of files.filter((f) => f.startsWith(`${agentDir}/`))) {
  const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  for (const m of text.matchAll(SPECIFIER)) {
    const spec = m[1] ?? m[2];
    if (spec.startsWith('node:') || builtinModules.includes(spec)) continue;
    const target = spec.startsWith('.') ? resolve(dirname(file), spec) : undefined;
    if (target && (target === guestProtocol || target.startsWith(`${agentDir}/`))) continue;
    agentEscapes.push(`${relative(root, file)} imports ${spec}`);
  }
}

const long = files
  .map((f) => ({ file: relative(root, f), lines: readFileSync(f, 'utf8').split('\n').length - 1 }))
  .filter((f) => f.lines > maxLines)
  .sort((a, b) => b.lines - a.lines);

if (json) {
  process.stdout.write(`${JSON.stringify({ files: files.length, cycles, long, maxLines, agentEscapes }, null, 2)}\n`);
} else {
  for (const c of cycles) console.log(`import cycle: ${c.join(' ↔ ')}`);
  for (const l of long) console.log(`${l.file}: ${l.lines} lines (limit ${maxLines})`);
  for (const e of agentEscapes) console.log(`guest agent boundary: ${e} (only src/agent/, src/protocol.ts and node builtins)`);
  if (cycles.length === 0 && long.length === 0 && agentEscapes.length === 0) console.log(`${files.length} production files: no import cycle, none over ${maxLines} lines, the guest agent within its boundary`);
}
process.exit(cycles.length > 0 || long.length > 0 || agentEscapes.length > 0 ? 1 : 0);
