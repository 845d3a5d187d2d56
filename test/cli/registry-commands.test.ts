/**
 * Joining the network with the operator commands against a real CCN: `crn init` writes the
 * configuration and key, `crn register` publishes the resource node, `ccn link` links it, and
 * a fourth link is refused with exit 1.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { run } from '../helpers/process.ts';
import { startNodeProcess, type NodeProcess } from '../kit/node-process.ts';
import { EthAccount } from '@aleph-nodes/protocol';

const dir = mkdtempSync(join(tmpdir(), 'registry-cli-'));
let ccn: NodeProcess;
let ccnUrl = '';
const ccnOwnerKey = join(dir, 'ccn-owner.key');

before(async () => {
  mkdirSync(join(dir, 'ccn'));
  ccn = await startNodeProcess('ccn', { registryTag: 'devnet', ccnOwnerMinBalance: 0, stakerMinBalance: 0, ccnActivationStake: 0 }, { dataDir: join(dir, 'ccn') });
  ccnUrl = ccn.url;
  // The CCN owner registers its node with the devnet helper, then links CRNs with `ccn link`.
  const owner = EthAccount.generate();
  writeFileSync(ccnOwnerKey, `${owner.exportPrivateKey()}\n`, { mode: 0o600 });
  const { createCoreNode } = await import('@aleph-nodes/cli');
  await createCoreNode(ccnUrl, owner, 'devnet', { name: 'test-ccn', multiaddress: '' });
});
after(async () => {
  await ccn?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function registerCrn(i: number): Promise<string> {
  const dataDir = join(dir, `crn-${i}`);
  const init = await run('npx', ['crn', 'init', '--data-dir', dataDir, '--ccn', ccnUrl, '--domain', `127.0.0.${i + 2}`, '--json']);
  assert.equal(init.code, 0, init.stderr);
  const { configFile } = JSON.parse(init.stdout) as { configFile: string };
  const config = JSON.parse(readFileSync(configFile, 'utf8')) as { ccn: string };
  assert.equal(config.ccn, ccnUrl);
  const reg = await run('npx', ['crn', 'register', '--config', configFile, '--name', `crn-${i}`, '--address', `http://127.0.0.${i + 2}:4020`, '--tag', 'devnet', '--json']);
  assert.equal(reg.code, 0, reg.stderr);
  return (JSON.parse(reg.stdout) as { hash: string }).hash;
}

describe('crn init, crn register, ccn link', () => {
  it('links three CRNs and refuses the fourth', async () => {
    for (let i = 0; i < 3; i++) {
      const hash = await registerCrn(i);
      const link = await run('npx', ['ccn', 'link', hash, '--ccn', ccnUrl, '--key-file', ccnOwnerKey, '--tag', 'devnet', '--json']);
      assert.equal(link.code, 0, link.stdout + link.stderr);
      assert.equal((JSON.parse(link.stdout) as { linked: boolean }).linked, true);
    }
    const fourth = await registerCrn(3);
    const link = await run('npx', ['ccn', 'link', fourth, '--ccn', ccnUrl, '--key-file', ccnOwnerKey, '--tag', 'devnet', '--json']);
    assert.equal(link.code, 1);
    assert.equal((JSON.parse(link.stdout) as { linked: boolean }).linked, false);
  });

  it('init refuses to overwrite a configuration without --force', async () => {
    const r = await run('npx', ['crn', 'init', '--data-dir', join(dir, 'crn-0'), '--ccn', ccnUrl]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /exists/);
  });
});
