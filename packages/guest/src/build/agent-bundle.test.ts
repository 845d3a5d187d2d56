import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { agentBoundary, bundleAgent } from './agent-bundle.ts';

describe('agent bundle', () => {
  const dir = mkdtempSync(join(tmpdir(), 'agent-boundary-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const agentDir = join(dir, 'agent');
  const protocolFile = join(dir, 'protocol.ts');
  mkdirSync(agentDir);
  writeFileSync(protocolFile, 'export const PORT = 8080;\n');
  writeFileSync(join(dir, 'helper.ts'), 'export const HELPER = 1;\n');
  writeFileSync(join(agentDir, 'util.ts'), "import { PORT } from '../protocol.ts';\nexport const port = PORT;\n");
  const entry = (name: string, body: string): string => {
    const path = join(agentDir, name);
    writeFileSync(path, body);
    return path;
  };

  it('bundles the real agent (its own files, protocol.ts, node builtins)', async () => {
    const bundle = (await bundleAgent()).toString('utf8');
    assert.match(bundle, /^\/\/ aleph-nodes guest agent/);
    assert.doesNotMatch(bundle, /from ['"](?!node:)[^'"]*['"]/, 'only node builtins stay imports');
  });

  it('takes the agent directory, protocol.ts and builtins', async () => {
    const ok = entry('ok.ts', "import { port } from './util.ts';\nimport { release } from 'node:os';\nimport { join } from 'path';\nconsole.log(port, release(), join('a'));\n");
    const out = (await bundleAgent(ok, agentBoundary(agentDir, protocolFile))).toString('utf8');
    assert.match(out, /8080/);
  });

  for (const [name, body] of [
    ['a file beside the agent', "import { HELPER } from '../helper.ts';\nconsole.log(HELPER);\n"],
    ['a host package', "import { z } from 'zod';\nconsole.log(z);\n"],
    ['a dynamic import', "void import('../helper.ts');\n"],
  ] as const) {
    it(`fails on ${name}`, async () => {
      const bad = entry(`bad-${name.replace(/\W/g, '-')}.ts`, body);
      await assert.rejects(bundleAgent(bad, agentBoundary(agentDir, protocolFile)), /only src\/agent\/, src\/protocol.ts and node builtins/);
    });
  }
});
