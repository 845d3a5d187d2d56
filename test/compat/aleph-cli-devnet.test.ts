/**
 * The `aleph` CLI of aleph-client (from PyPI, scripts/setup-debian.sh) driving the devnet itself
 * (`npm run devnet -- --executor process --ccns 1 --crns 1`), with its CCN on SQLite and on
 * PostgreSQL: the devnet's oracle funds a fresh account, then the CLI uploads a program exactly as a
 * user would (`aleph program upload`: STORE of the zip, the pricing aggregate, a price estimate, the
 * balance, the PROGRAM), lists it, reads its logs from the CRN with a signed request, stops it on
 * the CRN (`aleph instance stop`: the CRN operation is the same for programs) and starts it again
 * (`aleph instance reboot`); the program answers at `/vm/{hash}` before and after. The CLI needs the devnet's pricing and
 * settings aggregates (ALEPH_ALEPH_AGGREGATE_ADDRESS, printed in the devnet's banner).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EthAccount } from '@aleph-nodes/protocol';
import { postgresSettings } from '../ccn/helpers/ccn-process.ts';
import { eventually } from '../helpers/eventually.ts';
import { PayDevnet } from '../payments/helpers/pay-devnet.ts';
import { makeZip } from '../../packages/crn/src/testing/zip.ts';
import { pythonClientsSkipReason, randomPrivateKeyHex, runAlephCli, type RunResult } from './helpers/python.ts';

const skip = pythonClientsSkipReason();

/** Answers JSON naming itself; logs one line at start, which `aleph program logs` must show. */
const PROGRAM = `
import http from 'node:http';
console.log('cli program started');
http.createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ program: 'uploaded by the aleph CLI', path: req.url }));
}).listen(8080, '0.0.0.0');
`;

const output = (res: RunResult): string => `exit ${res.code}\n--- stdout\n${res.stdout}\n--- stderr\n${res.stderr}`;

for (const engine of ['sqlite', 'postgres'] as const) {
  describe(`aleph CLI against the devnet (${engine})`, { skip, timeout: 900_000 }, () => {
    const pg = engine === 'postgres' ? postgresSettings() : undefined;
    const devnet = new PayDevnet(pg ? { CCN_DB: String(pg.settings.db), CCN_PG_SCHEMA: String(pg.settings.pgSchema) } : {});
    const key = randomPrivateKeyHex();
    const address = EthAccount.fromPrivateKey(`0x${key}`).address;
    const codeDir = mkdtempSync(join(tmpdir(), 'aleph-cli-program-'));
    let program = '';
    const cli = (args: string[]): Promise<RunResult> =>
      runAlephCli([...args, '--private-key', key], devnet.ccn, { ALEPH_ALEPH_AGGREGATE_ADDRESS: devnet.state.aggregates.address });
    const callProgram = async (): Promise<{ status: number; body: string }> => {
      const res = await fetch(`${devnet.crn.url}/vm/${program}/hello`);
      return { status: res.status, body: await res.text() };
    };

    before(async () => {
      // A zip, not the directory: given a directory the CLI makes a squashfs when mksquashfs is
      // installed, which only the microVM executor mounts; the devnet here runs the process one.
      writeFileSync(join(codeDir, 'program.zip'), makeZip([{ name: 'main.mjs', data: PROGRAM, deflate: true }]));
      await devnet.start();
      const funded = await devnet.oracle('balance', address, '100000');
      assert.equal(funded.code, 0, funded.stderr);
    });
    after(async () => {
      await devnet.stop();
      await pg?.drop();
      rmSync(codeDir, { recursive: true, force: true });
      assert.deepEqual(devnet.leftovers(), []);
    });

    it('aleph program upload: the CLI prices it, checks the balance, publishes it, and the CRN runs it', async () => {
      const res = await cli(['program', 'upload', join(codeDir, 'program.zip'), 'main.mjs', '--name', 'cli-program', '--runtime', devnet.state.runtimes.node, '--vcpus', '1', '--memory', '128', '--skip-volume', '--skip-env-var', '--payment-chain', 'ETH']);
      assert.equal(res.code, 0, output(res));
      program = /Your program ([0-9a-f]{64}) has been uploaded/.exec(res.stdout.replace(/\s+/g, ' '))?.[1] ?? '';
      assert.match(program, /^[0-9a-f]{64}$/, output(res));
      assert.equal((await devnet.status(program)).status, 'processed');
      const answer = await callProgram();
      assert.equal(answer.status, 200, answer.body);
      assert.deepEqual(JSON.parse(answer.body), { program: 'uploaded by the aleph CLI', path: '/hello' });
    });

    it('aleph program list shows it with its name', async () => {
      // Its table: `--json` fails in aleph-client 1.9.3 itself (pydantic 2 refuses the
      // `message.json(indent=4)` it calls), before anything is read from the node.
      const res = await cli(['program', 'list', '--address', address]);
      assert.equal(res.code, 0, output(res));
      assert.ok(res.stdout.replace(/[\s│]+/g, '').includes(program), output(res));
      assert.match(res.stdout, /cli-program/, output(res));
    });

    it("aleph program logs reads the program's output from the CRN (signed by the owner)", async () => {
      const res = await cli(['program', 'logs', program, '--domain', devnet.crn.url]);
      assert.equal(res.code, 0, output(res));
      assert.match(res.stdout, /Received logs/, output(res));
      assert.match(res.stdout, /cli program started/, output(res));
      const stranger = await runAlephCli(['program', 'logs', program, '--domain', devnet.crn.url, '--private-key', randomPrivateKeyHex()], devnet.ccn);
      assert.match(stranger.stdout, /not the owner/, output(stranger));
    });

    it('aleph instance stop stops it on the CRN until aleph instance reboot starts it again', async () => {
      const stranger = await runAlephCli(['instance', 'stop', program, '--domain', devnet.crn.url, '--private-key', randomPrivateKeyHex()], devnet.ccn);
      assert.match(stranger.stdout, /Status : 403/, output(stranger));
      assert.ok((await devnet.running()).includes(program), 'a stranger could not stop it');
      const res = await cli(['instance', 'stop', program, '--domain', devnet.crn.url]);
      assert.equal(res.code, 0, output(res));
      assert.match(res.stdout, /VM stopped on CRN/, output(res));
      await eventually('the program to be stopped', 60_000, async () => !(await devnet.running()).includes(program));
      // Stopped by its owner: a visitor's request does not start it again (503 OWNER_STOPPED).
      assert.equal((await callProgram()).status, 503);
      const started = await cli(['instance', 'reboot', program, '--domain', devnet.crn.url]);
      assert.equal(started.code, 0, output(started));
      assert.match(started.stdout, /VM rebooted on CRN/, output(started));
      const again = await callProgram();
      assert.equal(again.status, 200, again.body);
      assert.ok((await devnet.running()).includes(program));
    });
  });
}
