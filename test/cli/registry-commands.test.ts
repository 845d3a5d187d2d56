/**
 * The registry commands against one real CCN that keeps the real network's balance rule (a CCN
 * owner must hold 199,999 ALEPH) with a balance oracle, and honours tag `devnet`:
 * - `ccn register` reads back the outcome: refused with the recorded reason and exit 1 while the
 *   owner holds nothing, applied once the oracle gives a balance; a second run publishes nothing;
 * - `crn register` and `ccn link` with a tag the CCN does not honour exit 1 with the reason;
 *   without --tag they use the CCN's; re-runs are idempotent; node hashes land in the config;
 * - `ccn link` beyond three CRNs is refused with exit 1; `crn status` at a CCN says it is not a CRN.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EthAccount } from '@aleph-nodes/protocol';
import { jsonLine, run, RunningProcess } from '../helpers/process.ts';

const dir = mkdtempSync(join(tmpdir(), 'registry-cli-'));
let ccn: RunningProcess;
let ccnUrl = '';
const ccnConfig = join(dir, 'ccn.json');
const ccnKey = join(dir, 'ccn', 'node.key');
const oracleKey = join(dir, 'oracle.key');
const ccnCli = (...args: string[]) => run(process.execPath, ['packages/cli/bin/ccn.js', ...args]);
const crnCli = (...args: string[]) => run(process.execPath, ['packages/cli/bin/crn.js', ...args]);
const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;

before(async () => {
  const oracle = EthAccount.generate();
  writeFileSync(oracleKey, `${oracle.exportPrivateKey()}\n`, { mode: 0o600 });
  const init = await ccnCli('init', '--data-dir', join(dir, 'ccn'), '--config-file', ccnConfig, '--port', '0');
  assert.equal(init.code, 0, init.stderr);
  // The real network's balance rule, with an oracle to satisfy it; a development network's tag.
  writeFileSync(ccnConfig, JSON.stringify({ ...readJson(ccnConfig), p2pPort: 0, registryTag: 'devnet', balanceIndexers: [oracle.address] }));
  ccn = new RunningProcess(process.execPath, ['packages/cli/bin/ccn.js', 'start', '--config', ccnConfig]);
  ccnUrl = jsonLine(await ccn.waitForLine((l) => jsonLine(l)?.msg === 'ccn ready'))?.url as string;
});
after(async () => {
  await ccn?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function initCrn(i: number): Promise<string> {
  const init = await crnCli('init', '--data-dir', join(dir, `crn-${i}`), '--ccn', ccnUrl, '--domain', `127.0.0.${i + 2}`, '--json');
  assert.equal(init.code, 0, init.stderr);
  return (JSON.parse(init.stdout) as { configFile: string }).configFile;
}

async function registerCrn(i: number): Promise<string> {
  const configFile = await initCrn(i);
  const reg = await crnCli('register', '--config', configFile, '--name', `crn-${i}`, '--address', `http://127.0.0.${i + 2}:4020`, '--json');
  assert.equal(reg.code, 0, reg.stderr);
  return (JSON.parse(reg.stdout) as { hash: string }).hash;
}

const link = (hash: string, ...extra: string[]) => ccnCli('link', hash, '--ccn', ccnUrl, '--key-file', ccnKey, ...extra);

describe('registry commands read back what the registry did', () => {
  it('ccn register: ignored with the reason (exit 1) without the balance, applied with it, idempotent', async () => {
    const refused = await ccnCli('register', '--config', ccnConfig, '--ccn', ccnUrl);
    assert.equal(refused.code, 1, refused.stdout + refused.stderr);
    assert.match(refused.stderr, /ignored create-node [0-9a-f]{64}: the sender holds less than 199999 ALEPH/);
    assert.match(refused.stderr, /ccn oracle balance/, 'says how a development network gets past it');
    assert.equal(readJson(ccnConfig).nodeHash, undefined);

    const owner = readKeyFileAddress(ccnKey);
    const fund = await ccnCli('oracle', 'balance', owner, '200000', '--key-file', oracleKey, '--ccn', ccnUrl);
    assert.equal(fund.code, 0, fund.stdout + fund.stderr);
    const ok = await ccnCli('register', '--config', ccnConfig, '--ccn', ccnUrl, '--json');
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    const { hash, created } = JSON.parse(ok.stdout) as { hash: string; created: boolean };
    assert.equal(created, true);
    assert.equal(readJson(ccnConfig).nodeHash, hash);
    const again = await ccnCli('register', '--config', ccnConfig, '--ccn', ccnUrl);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /already registered as core channel node/);
  });

  it('crn register with a tag the CCN does not honour: exit 1 with the reason, nothing written', async () => {
    const configFile = await initCrn(9);
    const r = await crnCli('register', '--config', configFile, '--address', 'http://127.0.0.11:4020', '--tag', 'mainnet');
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /ignored create-resource-node [0-9a-f]{64}: the operation is not tagged devnet/);
    assert.equal(readJson(configFile).nodeHash, undefined);
  });

  it('crn register twice: one node, its hash in the config; ccn link with a wrong tag is refused, then links', async () => {
    const configFile = await initCrn(0);
    const args = ['register', '--config', configFile, '--name', 'crn-0', '--address', 'http://127.0.0.2:4020', '--json'];
    const first = JSON.parse((await crnCli(...args)).stdout) as { hash: string; created: boolean };
    const second = await crnCli(...args);
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(JSON.parse(second.stdout), { ...first, created: false, status: 'waiting' } as unknown);
    assert.equal(readJson(configFile).nodeHash, first.hash);
    const nodes = (await (await fetch(`${ccnUrl}/api/v0/nodes`)).json()) as { resource_nodes: { owner: string }[] };
    assert.equal(nodes.resource_nodes.filter((n) => n.owner === readKeyFileAddress(join(dir, 'crn-0', 'node.key'))).length, 1);

    const wrongTag = await link(first.hash, '--tag', 'mainnet', '--json');
    assert.equal(wrongTag.code, 1);
    assert.equal((JSON.parse(wrongTag.stdout) as { linked: boolean }).linked, false);
    assert.match(wrongTag.stderr, /ignored the link [0-9a-f]{64}: the operation is not tagged devnet/);
    const linked = await link(first.hash, '--json');
    assert.equal(linked.code, 0, linked.stdout + linked.stderr);
    assert.equal((JSON.parse(linked.stdout) as { linked: boolean }).linked, true);
  });

  it('links up to three CRNs and refuses the fourth with exit 1 and the reason', async () => {
    for (let i = 1; i < 3; i++) {
      const r = await link(await registerCrn(i));
      assert.equal(r.code, 0, r.stdout + r.stderr);
    }
    const fourth = await link(await registerCrn(3));
    assert.equal(fourth.code, 1);
    assert.match(fourth.stderr, /ignored the link/);
  });

  it('crn status pointed at a CCN says it is not a CRN', async () => {
    const r = await crnCli('status', '--url', ccnUrl);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`${ccnUrl} is not a CRN`));
    assert.equal(r.stdout, '', 'no made-up execution list');
  });

  it('init refuses to overwrite a configuration without --force', async () => {
    const r = await crnCli('init', '--data-dir', join(dir, 'crn-0'), '--ccn', ccnUrl);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /exists/);
  });
});

function readKeyFileAddress(file: string): string {
  return EthAccount.fromPrivateKey(readFileSync(file, 'utf8').trim()).address;
}
