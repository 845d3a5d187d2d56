/**
 * The `aleph` CLI of aleph-client (from PyPI, scripts/setup-debian.sh) driving the devnet itself
 * (`npm run devnet -- --executor process --ccns 1 --crns 1`), with its CCN on SQLite and on
 * PostgreSQL: the devnet's oracle funds a fresh account, then the CLI uploads a program exactly as a
 * user would (`aleph program upload`: STORE of the zip, the pricing aggregate, a price estimate, the
 * balance, the PROGRAM), lists it, reads its logs from the CRN with a signed request, stops it on
 * the CRN (`aleph instance stop`: the CRN operation is the same for programs) and starts it again
 * (`aleph instance reboot`); the program answers at `/vm/{hash}` before and after. The CLI needs the devnet's pricing and
 * settings aggregates (ALEPH_ALEPH_AGGREGATE_ADDRESS, printed in the devnet's banner).
 *
 * Instances, as far as a devnet whose CRN runs the process executor (no QEMU) lets them go:
 * - `aleph instance create --payment-type credit --crn-url <CRN>` picks the CRN from the CCN's CRN
 *   list (ALEPH_CRN_LIST_URL, `GET /api/v0/crns.json`), shows what the list says of it, and stops
 *   as it does for any CRN without QEMU: nothing is published;
 * - `aleph instance create --payment-type hold` publishes the INSTANCE; the CCN's scheduler places it
 *   on the CRN, which refuses it (its executor cannot boot instances);
 * - a credit INSTANCE for the CRN published with the Python SDK (what the CLI would publish on a
 *   CRN with QEMU): `aleph instance allocate` finds its CRN through the list and notifies it, which
 *   refuses; `aleph instance list` shows it, allocated to that CRN, not running.
 * `aleph instance list` of a hold instance asks the SDK's SCHEDULER_URL (a constant naming Aleph's
 * own scheduler on the internet, not settable), so it is left out; pay-as-you-go needs a Superfluid
 * flow on a real chain.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CRN_LIST_PATH, CrnListSchema, EthAccount } from '@aleph-nodes/protocol';
import { postgresSettings } from '../ccn/helpers/ccn-process.ts';
import { eventually, getJson } from '../helpers/eventually.ts';
import { PayDevnet } from '../payments/helpers/pay-devnet.ts';
import { makeZip } from '../../packages/crn/src/testing/zip.ts';
import { cliEnv, instanceCreateArgs, publishCreditInstance, SSH_PUBLIC_KEY, tableColumn } from './helpers/cli-instances.ts';
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
    const cli = (args: string[], privateKey = key): Promise<RunResult> =>
      runAlephCli([...args, '--private-key', privateKey], devnet.ccn, cliEnv(devnet.ccn, devnet.state.aggregates.address));
    const flat = (text: string): string => text.replace(/[\s│]+/g, '');
    const callProgram = async (): Promise<{ status: number; body: string }> => {
      const res = await fetch(`${devnet.crn.url}/vm/${program}/hello`);
      return { status: res.status, body: await res.text() };
    };

    before(async () => {
      // A zip, not the directory: given a directory the CLI makes a squashfs when mksquashfs is
      // installed, which only the microVM executor mounts; the devnet here runs the process one.
      writeFileSync(join(codeDir, 'program.zip'), makeZip([{ name: 'main.mjs', data: PROGRAM, deflate: true }]));
      writeFileSync(join(codeDir, 'id.pub'), `${SSH_PUBLIC_KEY}\n`);
      await devnet.start();
      const funded = await devnet.oracle('balance', address, '100000');
      assert.equal(funded.code, 0, funded.stderr);
      const credits = await devnet.oracle('credits', address, '1000000');
      assert.equal(credits.code, 0, credits.stderr);
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

    it('aleph instance create (credits) picks the CRN from the CCN\'s CRN list and stops there: it has no QEMU', async () => {
      // The list (shared schema) once the CCN's monitor has read the CRN's own report.
      const entry = await eventually('the CRN list to carry the CRN\'s report', 60_000, async () =>
        CrnListSchema.parse(await getJson(`${devnet.ccn}${CRN_LIST_PATH}`)).crns.find((c) => c.hash === devnet.crn.hash && c.config_from_crn),
      );
      assert.deepEqual([entry.address, entry.qemu_support, entry.payment_receiver_address], [devnet.crn.url, false, devnet.crn.address]);
      const res = await cli(instanceCreateArgs({ payment: 'credit', rootfs: devnet.state.runtimes.node, name: 'cli-credit', sshKeyFile: join(codeDir, 'id.pub'), crnUrl: devnet.crn.url }));
      assert.equal(res.code, 1, output(res));
      // The "Selected CRN" panel: every line from the list entry the CCN built from its registry and probes.
      const panel = flat(res.stdout);
      assert.ok(panel.includes(`Hash:${devnet.crn.hash}`), output(res));
      assert.ok(panel.includes(`URL:${devnet.crn.url}`), output(res));
      assert.ok(panel.includes('Version:1.14.0'), output(res));
      assert.ok(panel.includes(`StreamReceiver:${devnet.crn.address}`), output(res));
      assert.ok(panel.includes('SupportQemu:False'), output(res));
      assert.match(res.stdout, /Selected CRN does not support QEMU hypervisor/, output(res));
      const published = await getJson<{ messages: unknown[] }>(`${devnet.ccn}/api/v0/messages.json?msgTypes=INSTANCE&addresses=${address}`);
      assert.deepEqual(published.messages, [], 'nothing published');
    });

    it('aleph instance create (hold) publishes it; the CCN places it and the CRN refuses it (no instances on the process executor)', async () => {
      // Its own account: `aleph instance list` of a hold instance would ask Aleph's scheduler on the internet.
      const holdKey = randomPrivateKeyHex();
      const holder = EthAccount.fromPrivateKey(`0x${holdKey}`).address;
      assert.equal((await devnet.oracle('balance', holder, '100000')).code, 0);
      const res = await cli(instanceCreateArgs({ payment: 'hold', rootfs: devnet.state.runtimes.node, name: 'cli-hold', sshKeyFile: join(codeDir, 'id.pub') }), holdKey);
      assert.equal(res.code, 0, output(res));
      const hash = /Your instance ([0-9a-f]{64}) is registered/.exec(res.stdout.replace(/[\s│]+/g, ' '))?.[1] ?? '';
      assert.match(hash, /^[0-9a-f]{64}$/, output(res));
      const message = await getJson<{ status: string; message: { sender: string; content: { payment: unknown; metadata: unknown } } }>(`${devnet.ccn}/api/v0/messages/${hash}`);
      assert.equal(message.status, 'processed');
      assert.equal(message.message.sender, holder);
      assert.deepEqual(message.message.content.payment, { chain: 'ETH', type: 'hold' });
      assert.deepEqual(message.message.content.metadata, { name: 'cli-hold' });
      await eventually('the CRN to refuse the placed instance', 60_000, async () => {
        const { allocations } = await getJson<{ allocations: { item_hash: string; crn: string | null; push_status: string }[] }>(`${devnet.ccn}/api/v0/allocations`);
        const placed = allocations.find((a) => a.item_hash === hash);
        return placed?.crn === devnet.crn.hash && /UNSUPPORTED_WORKLOAD.*cannot boot instances/.test(placed.push_status);
      });
    });

    it('a credit instance for the CRN: aleph instance allocate finds the CRN in the list, which refuses it; aleph instance list shows it there', async () => {
      const instance = await publishCreditInstance({ api: devnet.ccn, key, rootfs: devnet.state.runtimes.node, crnHash: devnet.crn.hash, name: 'sdk-credit' });
      assert.equal(instance.status, 'processed');
      // No --domain: the CLI looks the instance's node hash up in the CRN list.
      const allocated = await cli(['instance', 'allocate', instance.hash]);
      assert.match(allocated.stdout, /Status: 400/, output(allocated));
      assert.match(allocated.stdout, /UNSUPPORTED_WORKLOAD/, output(allocated));
      assert.equal((await devnet.execution(instance.hash))?.running ?? false, false);
      const res = await cli(['instance', 'list', '--address', address]);
      assert.equal(res.code, 0, output(res));
      // Columns: the instance, its specifications, its allocation (the CRN, from the list), its execution.
      const [described, allocation] = [tableColumn(res.stdout, 0), tableColumn(res.stdout, 2)];
      assert.ok(described.includes(instance.hash), output(res));
      assert.ok(described.includes('Name:sdk-credit'), output(res));
      assert.ok(described.includes('Payment:Credit'), output(res));
      assert.ok(described.includes('Instances[0/1]'), `none running\n${output(res)}`);
      assert.ok(allocation.includes(`CRNHash:${devnet.crn.hash}`), output(res));
      assert.ok(allocation.includes(`CRNUrl:${devnet.crn.url}`), output(res));
    });
  });
}
