/**
 * Attack on notify: `POST /control/allocation/notify` is unauthenticated, and the earlier
 * CRN started whatever INSTANCE it was told about. Now, against a real CCN and CRN, nothing is
 * started (or even recorded) for an instance paid by hold, one that names another node or no
 * node, or a message that is not an instance; a node that does not know its hash answers 503.
 * A stream- or credit-paid instance naming this node passes the checks and reaches the
 * supervisor's admission (the process executor then refuses instances, as it always did).
 *
 * The process executor runs no instance at all, so the attack proper is shown on a microvm CRN
 * (TCG, no VM boots): there the earlier code launched a hold instance it was notified of
 * (download, disk preparation, a record), here nothing is done.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildInlineMessage, EthAccount } from '@aleph-nodes/protocol';
import { startCrn, type CrnConfig, type RunningCrn } from '@aleph-nodes/crn';
import { silentLogger } from '@aleph-nodes/service';
import { publishMessage, storeFile } from '@aleph-nodes/cli';
import { ECHO_PROGRAM, startNodes, type Nodes } from '../crn/helpers/nodes.ts';

const NODE_HASH = 'e1'.repeat(32);
const OTHER_NODE = 'f2'.repeat(32);

interface ErrorBody {
  error: { code: string; message: string };
}

describe('notify starts only user-paid instances that name this node', { timeout: 180_000 }, () => {
  let nodes: Nodes;
  const user = EthAccount.generate();
  let rootfs = '';

  async function instance(payment: string | undefined, nodeHash: string | undefined): Promise<string> {
    const message = buildInlineMessage(
      user,
      'INSTANCE',
      {
        allow_amend: false,
        metadata: { name: 'notify-test' },
        environment: { internet: false, aleph_api: false, reproducible: false, shared_cache: false },
        resources: { vcpus: 1, memory: 128, seconds: 30 },
        rootfs: { parent: { ref: rootfs, use_latest: true }, persistence: 'host', size_mib: 64 },
        volumes: [],
        ...(payment ? { payment: { chain: 'ETH', type: payment } } : {}),
        ...(nodeHash ? { requirements: { node: { node_hash: nodeHash } } } : {}),
      },
      { channel: 'TEST' },
    );
    await publishMessage(nodes.ccn.url, message);
    return message.item_hash;
  }

  async function notify(url: string, body: unknown): Promise<{ status: number; text: string }> {
    const res = await fetch(`${url}/control/allocation/notify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, text: await res.text() };
  }

  /** Neither running nor recorded on the CRN: the earlier node recorded a started instance even when its start failed. */
  async function nothingStarted(url: string, ref: string): Promise<void> {
    const v1 = (await (await fetch(`${url}/about/executions/list`)).json()) as Record<string, unknown>;
    const v2 = (await (await fetch(`${url}/v2/about/executions/list`)).json()) as Record<string, unknown>;
    const records = (await (await fetch(`${url}/about/executions/records`)).json()) as { vm_hash: string }[];
    assert.equal(ref in v1, false, 'not running');
    assert.equal(ref in v2, false, 'not in the execution list');
    assert.equal(records.some((r) => r.vm_hash === ref), false, 'no execution record');
  }

  before(async () => {
    nodes = await startNodes({ nodeHash: NODE_HASH });
    rootfs = await storeFile(nodes.ccn.url, user, new TextEncoder().encode('rootfs stand-in'), 'TEST');
  });
  after(async () => {
    await nodes?.close();
  });

  it('a hold-paid instance, even naming this node: 400 Invalid payment method, nothing started', async () => {
    for (const ref of [await instance(undefined, NODE_HASH), await instance('hold', NODE_HASH)]) {
      const res = await notify(nodes.crn.url, { instance: ref });
      assert.equal(res.status, 400, res.text);
      const body = JSON.parse(res.text) as ErrorBody;
      assert.equal(body.error.code, 'INVALID_PAYMENT_METHOD');
      assert.match(body.error.message, /Invalid payment method/);
      await nothingStarted(nodes.crn.url, ref);
    }
  });

  it('an instance naming another node, or none: 400, nothing started', async () => {
    const elsewhere = await instance('credit', OTHER_NODE);
    const res = await notify(nodes.crn.url, { instance: elsewhere });
    assert.equal(res.status, 400, res.text);
    assert.equal((JSON.parse(res.text) as ErrorBody).error.code, 'WRONG_NODE');
    await nothingStarted(nodes.crn.url, elsewhere);

    const nowhere = await instance('superfluid', undefined).catch(() => undefined);
    // The CCN refuses a stream instance without node_hash; a hold one without it is the scheduler's.
    const unnamed = nowhere ?? (await instance('hold', undefined));
    const res2 = await notify(nodes.crn.url, { instance: unnamed });
    assert.equal(res2.status, 400, res2.text);
    assert.equal((JSON.parse(res2.text) as ErrorBody).error.code, 'WRONG_NODE');
    await nothingStarted(nodes.crn.url, unnamed);
  });

  it('a message that is not an instance: 400, nothing started', async () => {
    const program = await nodes.publishProgram(ECHO_PROGRAM);
    const res = await notify(nodes.crn.url, { instance: program });
    assert.equal(res.status, 400, res.text);
    assert.equal((JSON.parse(res.text) as ErrorBody).error.code, 'NOT_EXECUTABLE');
    await nothingStarted(nodes.crn.url, program);
    for (const body of [{}, { instance: 'not-a-hash' }, { instance: program, extra: 1 }, []]) {
      assert.equal((await notify(nodes.crn.url, body)).status, 400);
    }
  });

  it('a node that does not know its hash: 503, nothing started', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'notify-nohash-'));
    let crn: RunningCrn | undefined;
    try {
      crn = await startCrn({ executor: 'process', dataDir: dir, ccn: nodes.ccn.url, port: 0, logLevel: 'silent', messageWatch: false } as CrnConfig, { logger: silentLogger() });
      const ref = await instance('credit', NODE_HASH);
      const res = await notify(crn.url, { instance: ref });
      assert.equal(res.status, 503, res.text);
      assert.equal((JSON.parse(res.text) as ErrorBody).error.code, 'NODE_HASH_UNKNOWN');
      await nothingStarted(crn.url, ref);
    } finally {
      await crn?.close({ stopPersistent: true });
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a credit instance naming this node passes the checks and reaches admission', async () => {
    const ref = await instance('credit', NODE_HASH);
    const res = await notify(nodes.crn.url, { instance: ref });
    // The process executor runs no instance: the supervisor refuses it after the notify checks.
    assert.match(res.text, /cannot boot instances: it lacks the instances capability/);
  });
});

const nftTables = (): string[] => execFileSync('nft', ['list', 'tables'], { encoding: 'utf8' }).split('\n').filter(Boolean);
const MICROVM_TABLE = 'table inet aleph_microvm';

describe('notify on a microvm CRN: a hold instance is not launched', { timeout: 240_000 }, () => {
  let nodes: Nodes | undefined;
  const tablesBefore: string[] = [];
  const user = EthAccount.generate();

  before(async () => {
    tablesBefore.push(...nftTables());
    nodes = await startNodes({ executor: 'microvm', accelerator: 'tcg', nodeHash: NODE_HASH, messageWatch: false });
  });
  after(async () => {
    await nodes?.close();
    // The executor's nftables table is shared by the CRNs of this host: removed only when this test made it and nothing uses it.
    const inUse = (): boolean => /elements = /.test(execFileSync('nft', ['list', 'table', 'inet', 'aleph_microvm'], { encoding: 'utf8' }));
    if (!tablesBefore.includes(MICROVM_TABLE) && nftTables().includes(MICROVM_TABLE) && !inUse()) execFileSync('nft', ['delete', 'table', 'inet', 'aleph_microvm']);
  });

  it('400 before anything is downloaded, prepared or recorded', async () => {
    const running = nodes as Nodes;
    const rootfs = await storeFile(running.ccn.url, user, new TextEncoder().encode('not a disk image'), 'TEST');
    const message = buildInlineMessage(
      user,
      'INSTANCE',
      {
        allow_amend: false,
        metadata: { name: 'notify-microvm-test' },
        environment: { internet: false, aleph_api: false, reproducible: false, shared_cache: false },
        resources: { vcpus: 1, memory: 128, seconds: 30 },
        rootfs: { parent: { ref: rootfs, use_latest: true }, persistence: 'host', size_mib: 64 },
        volumes: [],
        requirements: { node: { node_hash: NODE_HASH } },
      },
      { channel: 'TEST' },
    );
    await publishMessage(running.ccn.url, message);
    const res = await fetch(`${running.crn.url}/control/allocation/notify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ instance: message.item_hash }) });
    const text = await res.text();
    assert.equal(res.status, 400, text);
    assert.equal((JSON.parse(text) as ErrorBody).error.code, 'INVALID_PAYMENT_METHOD');
    const v2 = (await (await fetch(`${running.crn.url}/v2/about/executions/list`)).json()) as Record<string, unknown>;
    assert.equal(message.item_hash in v2, false, 'no execution');
    assert.equal(existsSync(join(running.crnDataDir, 'instances', message.item_hash)), false, 'no instance disk prepared');
  });
});
