/**
 * The join flow of docs/install-debian-12.md, run in order on fresh data dirs with the settings
 * of a development network (`ccn init --network devnet`), as an operator would: real `ccn` and
 * `crn` processes, every step through the CLI.
 *
 *   ccn init → ccn start → ccn register → crn init → crn register → crn start → ccn link → crn status
 *
 * Each registry command is also run a second time: it publishes nothing and says so. The CRN runs
 * the process executor (the guide's default, microvm, boots a probe guest: not needed to join).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { eventually } from '../helpers/eventually.ts';
import { freePort } from '../helpers/net.ts';
import { jsonLine, run, RunningProcess } from '../helpers/process.ts';

const dir = mkdtempSync(join(tmpdir(), 'join-flow-'));
const ccnDir = join(dir, 'ccn');
const crnDir = join(dir, 'crn');
const ccnConfig = join(ccnDir, 'config.json');
const crnConfig = join(crnDir, 'config.json');
const procs: RunningProcess[] = [];

const ccnCli = (...args: string[]) => run(process.execPath, ['packages/cli/bin/ccn.js', ...args]);
const crnCli = (...args: string[]) => run(process.execPath, ['packages/cli/bin/crn.js', ...args]);
const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;

after(async () => {
  // The CRN first: it stops its executor while its CCN still answers.
  for (const p of procs.reverse()) await p.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("the guide's join flow on a development network", () => {
  it('CCN register → CRN init → register → link → status shows linked and healthy', async () => {
    // Step 3: a Core Channel Node.
    const ccnPort = await freePort('127.0.0.1');
    const ccnUrl = `http://127.0.0.1:${ccnPort}`;
    const init = await ccnCli('init', '--data-dir', ccnDir, '--network', 'devnet', '--port', String(ccnPort), '--json');
    assert.equal(init.code, 0, init.stderr);
    const ccnAddress = (JSON.parse(init.stdout) as { address: string }).address;
    const ccn = new RunningProcess(process.execPath, ['packages/cli/bin/ccn.js', 'start', '--config', ccnConfig, '--p2p-port', '0']);
    procs.push(ccn);
    await ccn.waitForLine((l) => jsonLine(l)?.msg === 'ccn ready');

    const reg = await ccnCli('register', '--config', ccnConfig, '--name', 'join-ccn', '--json');
    assert.equal(reg.code, 0, reg.stdout + reg.stderr);
    const ccnHash = (JSON.parse(reg.stdout) as { hash: string; created: boolean }).hash;
    assert.equal(readJson(ccnConfig).nodeHash, ccnHash, 'the node hash is written back to the config');
    const again = await ccnCli('register', '--config', ccnConfig, '--json');
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual([(JSON.parse(again.stdout) as { hash: string }).hash, (JSON.parse(again.stdout) as { created: boolean }).created], [ccnHash, false]);

    // Step 4: a Compute Resource Node.
    const crnPort = await freePort('127.0.0.1');
    const crnUrl = `http://127.0.0.1:${crnPort}`;
    const crnInit = await crnCli('init', '--data-dir', crnDir, '--ccn', ccnUrl, '--domain', '127.0.0.1', '--port', String(crnPort), '--allocation-signer', ccnAddress);
    assert.equal(crnInit.code, 0, crnInit.stderr);

    // Step 5: join the network.
    const crnReg = await crnCli('register', '--config', crnConfig, '--name', 'join-crn', '--address', crnUrl, '--json');
    assert.equal(crnReg.code, 0, crnReg.stdout + crnReg.stderr);
    const crnHash = (JSON.parse(crnReg.stdout) as { hash: string }).hash;
    assert.equal(readJson(crnConfig).nodeHash, crnHash);
    const crnAgain = await crnCli('register', '--config', crnConfig, '--name', 'join-crn', '--address', crnUrl, '--json');
    assert.equal(crnAgain.code, 0, crnAgain.stderr);
    assert.equal((JSON.parse(crnAgain.stdout) as { created: boolean }).created, false, 'a second run registers nothing');
    const nodes = (await (await fetch(`${ccnUrl}/api/v0/nodes`)).json()) as { resource_nodes: unknown[]; nodes: unknown[] };
    assert.equal(nodes.resource_nodes.length, 1, 'one resource node, not two');
    assert.equal(nodes.nodes.length, 1);

    const crn = new RunningProcess(process.execPath, ['packages/cli/bin/crn.js', 'start', '--config', crnConfig, '--executor', 'process']);
    procs.push(crn);
    await crn.waitForLine((l) => jsonLine(l)?.msg === 'crn ready');

    const link = await ccnCli('link', crnHash, '--ccn', ccnUrl, '--key-file', join(ccnDir, 'node.key'), '--json');
    assert.equal(link.code, 0, link.stdout + link.stderr);
    assert.equal((JSON.parse(link.stdout) as { parent: string }).parent, ccnHash);
    const linkAgain = await ccnCli('link', crnHash, '--ccn', ccnUrl, '--key-file', join(ccnDir, 'node.key'));
    assert.equal(linkAgain.code, 0, linkAgain.stderr);
    assert.match(linkAgain.stdout, /already linked/);

    // crn status knows the node hash (the running node learnt it from the config) and shows the link.
    const status = await eventually('crn status shows the node linked and healthy', 90_000, async () => {
      const r = await crnCli('status', '--config', crnConfig, '--json');
      if (r.code !== 0) return undefined;
      const s = JSON.parse(r.stdout) as { nodeHash: string; registry: { status: string; parent: string; health: string } | null };
      return s.registry?.status === 'linked' && s.registry.health === 'healthy' ? s : undefined;
    });
    assert.equal(status.nodeHash, crnHash);
    assert.equal(status.registry?.parent, ccnHash);
    const table = await crnCli('status', '--config', crnConfig);
    assert.match(table.stdout, new RegExp(`node hash\\s+${crnHash}`));
    assert.match(table.stdout, /registry\s+linked/);
  });
});
