/**
 * The multi-CCN devnet on the process executor (fast): `--ccns 2 --crns 3`.
 * - the state file has exactly the shape the network's tools read (checked with a strict schema);
 * - CRN i is linked to CCN i mod 2 in the registry (on every CCN once CCNs replicate; before that,
 *   on the CCN it registered with), and the printed curl line calls the sample program;
 * - Ctrl-C as a terminal sends it (SIGINT to the devnet and to every node of the foreground group,
 *   then the devnet's own SIGTERM arriving at once) stops everything: no node or workload process,
 *   veth, netns, nft table, cgroup or QEMU of this devnet is left;
 * - a second run on the same data dir gives the same network (same node hashes, same links, no new
 *   registration); a devnet killed with -9 leaves no node running (each sees its stdin close and
 *   stops cleanly); a stop request during start-up stops the nodes already started.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { z } from 'zod';
import { CcnConfigSchema } from '@aleph-nodes/ccn';
import { readKeyFile } from '@aleph-nodes/service';
import { eventually, getJson } from '../helpers/eventually.ts';
import { isAlive, jsonLine, RunningProcess } from '../helpers/process.ts';

const dir = mkdtempSync(join(tmpdir(), 'devnet-multi-'));
const dataDir = join(dir, 'data');
const stateFile = join(dir, 'state.json');

const hash = z.string().regex(/^[0-9a-f]{64}$/);
const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/);
const url = z.string().regex(/^http:\/\/127\.0\.\d+\.\d+:\d+$/);
const ccnShape = { url, address, pid: z.number().int().positive(), key_file: z.string().min(1), hash };
/** The state file, exactly as the network's tools read it. */
const StateSchema = z
  .object({
    ccn: z.object(ccnShape).strict(),
    ccns: z.array(z.object({ ...ccnShape, peer_id: z.string().min(1).nullable(), crns: z.array(hash) }).strict()),
    crns: z.array(z.object({ url, hash, address, pid: z.number().int().positive(), ccn: url }).strict()),
    runtimes: z.object({ node: hash }).strict(),
    rootfs: z.object({ debian: hash.optional() }).strict(),
    registry: z.object({ address }).strict(),
    oracle: z.object({ address, key_file: z.string().min(1) }).strict(),
    aggregates: z.object({ address }).strict(),
    sample: z.object({ program: hash, url: z.string().url() }).strict(),
  })
  .strict();
type State = z.infer<typeof StateSchema>;

interface Corechannel {
  nodes: { hash: string; owner: string; resource_nodes: string[] }[];
  resource_nodes: { hash: string; owner: string; parent: string | null; status: string }[];
}

/** CCNs replicate messages once they have peers to sync with: then every CCN has every link. */
const replicates = 'syncPeers' in CcnConfigSchema.shape || 'p2pBootstrap' in CcnConfigSchema.shape;

const devnetArgs = ['packages/cli/bin/devnet.js', '--state-file', stateFile, '--data-dir', dataDir, '--executor', 'process', '--ccns', '2', '--crns', '3', '--ccn-port', '0', '--crn-port', '0'];

/** The process executor names its host resources after a scope derived from its state dir. */
const scopes = [1, 2, 3].map((i) => createHash('sha256').update(join(dataDir, `crn-${i}`, 'executions')).digest('hex').slice(0, 4));

function lines(cmd: string, args: string[]): string[] {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

function cgroupDirs(prefix: string): string[] {
  return lines('find', ['/sys/fs/cgroup', '-maxdepth', '5', '-type', 'd', '-name', `${prefix}-*`]);
}

/** Everything of this devnet on the host: processes (nodes, workloads), QEMU, netns, veths, tables, cgroups. */
function leftovers(): Record<string, string[]> {
  const links = readdirSync('/sys/class/net');
  return {
    processes: lines('pgrep', ['-f', dataDir]),
    qemu: lines('pgrep', ['-f', `qemu-system.*${dataDir}`]),
    netns: lines('ip', ['netns', 'list']).filter((l) => scopes.some((s) => l.startsWith(`alv-${s}-`))),
    links: links.filter((l) => scopes.some((s) => l.startsWith(`aw${s}`))),
    tables: lines('nft', ['list', 'tables', 'inet']).filter((l) => scopes.some((s) => l.trim() === `table inet aleph_process_${s}`)),
    cgroups: scopes.flatMap((s) => cgroupDirs(s)),
  };
}

const nothingLeft = (): boolean => Object.values(leftovers()).every((l) => l.length === 0);

async function startDevnet(): Promise<{ devnet: RunningProcess; state: State; curl: string }> {
  const devnet = new RunningProcess(process.execPath, devnetArgs);
  await devnet.waitForLine((l) => l.includes('devnet ready'));
  const curl = (await devnet.waitForLine((l) => l.trim().startsWith('curl '))).trim().slice('curl '.length);
  return { devnet, state: StateSchema.parse(JSON.parse(readFileSync(stateFile, 'utf8'))), curl };
}

const corechannel = async (ccnUrl: string, registry: string): Promise<Corechannel> =>
  (await getJson<{ data: { corechannel: Corechannel } }>(`${ccnUrl}/api/v0/aggregates/${registry}.json?keys=corechannel`)).data.corechannel;

describe('devnet: two CCNs, three process CRNs, same network on every run, Ctrl-C stops everything', { timeout: 900_000 }, () => {
  let run: { devnet: RunningProcess; state: State; curl: string } | undefined;
  let first: State | undefined;

  after(async () => {
    await run?.devnet.stop('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts with nothing of it on the host, and writes the state file with exactly the agreed shape', async () => {
    assert.deepEqual(leftovers(), { processes: [], qemu: [], netns: [], links: [], tables: [], cgroups: [] });
    run = await startDevnet();
    const { state } = run;
    first = state;
    assert.equal(state.ccns.length, 2);
    assert.equal(state.crns.length, 3);
    const [ccn1, ccn2] = state.ccns as [State['ccns'][number], State['ccns'][number]];
    assert.deepEqual(state.ccn, { url: ccn1.url, address: ccn1.address, pid: ccn1.pid, key_file: ccn1.key_file, hash: ccn1.hash }, 'ccn is ccns[0]');
    assert.notEqual(ccn1.url, ccn2.url);
    for (const c of state.ccns) assert.equal(readKeyFile(c.key_file).address, c.address, 'key_file holds the CCN key');
    assert.equal(readKeyFile(state.oracle.key_file).address, state.oracle.address, 'the oracle key is kept');
    assert.ok(!state.ccns.some((c) => c.address === state.oracle.address), 'the oracle is a key of its own');
    state.crns.forEach((crn, i) => assert.equal(crn.ccn, state.ccns[i % 2]?.url, `CRN ${i + 1} belongs to CCN ${(i % 2) + 1}`));
    assert.deepEqual(ccn1.crns, [state.crns[0]?.hash, state.crns[2]?.hash]);
    assert.deepEqual(ccn2.crns, [state.crns[1]?.hash]);
    assert.equal(state.registry.address, ccn1.address);
    for (const pid of [...state.ccns, ...state.crns].map((n) => n.pid)) assert.ok(isAlive(pid));
  });

  it('links CRN i to CCN i mod 2 in the registry; the printed curl line calls the sample program', async () => {
    const state = run?.state as State;
    for (const [i, crn] of state.crns.entries()) {
      const owner = state.ccns[i % 2] as State['ccns'][number];
      // Before CCNs replicate, a CCN knows the registrations sent to it only.
      const views = replicates ? state.ccns : [owner];
      for (const view of views) {
        await eventually(`CRN ${i + 1} linked to CCN ${(i % 2) + 1} as ${view.url} sees it`, 60_000, async () => {
          const reg = await corechannel(view.url, state.registry.address);
          const entry = reg.resource_nodes.find((n) => n.hash === crn.hash);
          const parent = reg.nodes.find((n) => n.hash === owner.hash);
          return entry?.parent === owner.hash && entry.status === 'linked' && parent?.resource_nodes.includes(crn.hash);
        });
      }
    }
    // Every CCN is registered with its HTTP address and, once CCNs have P2P, its multiaddress with
    // its peer id (what the other CCNs dial and allowlist); replicated registries agree on both.
    const p2p = 'p2pPort' in CcnConfigSchema.shape;
    for (const ccn of state.ccns) {
      if (p2p) assert.ok(ccn.peer_id, `${ccn.url} reports its peer id`);
      for (const view of replicates ? state.ccns : [ccn]) {
        await eventually(`${ccn.url}'s entry as ${view.url} sees it`, 60_000, async () => {
          const entry = (await corechannel(view.url, state.registry.address)).nodes.find((n) => n.hash === ccn.hash) as (Corechannel['nodes'][number] & { address: string; multiaddress: string }) | undefined;
          return entry?.address === ccn.url && (!p2p || entry.multiaddress.endsWith(`/p2p/${ccn.peer_id}`));
        });
      }
    }
    const answer = (await (await fetch(run?.curl as string)).json()) as { greeting: string };
    assert.equal(answer.greeting, 'hello from the devnet');
  });

  it("stops on a terminal's Ctrl-C (SIGINT to every process, the devnet's SIGTERM just after): nothing of it is left", async () => {
    const { devnet, state } = run as NonNullable<typeof run>;
    // The sample program was called: its workload (namespace, veth, cgroup) is running now, so
    // the check below has something to find if the stop abandons it.
    assert.ok((leftovers().netns ?? []).length > 0, `the sample program's namespace exists: ${JSON.stringify(leftovers())}`);
    const pids = [...state.ccns, ...state.crns].map((n) => n.pid);
    for (const pid of [devnet.child.pid as number, ...pids]) process.kill(pid, 'SIGINT');
    process.kill(devnet.child.pid as number, 'SIGTERM');
    const exit = await devnet.closed;
    run = undefined;
    assert.equal(exit.code, 0, devnet.stderr);
    for (const pid of pids) assert.ok(!isAlive(pid), `node ${pid} stopped`);
    assert.ok(!existsSync(stateFile), 'the state file goes with the network');
    await eventually('nothing of the devnet to be left', 10_000, async () => nothingLeft(), async () => leftovers());
    const crnLog = readFileSync(join(dataDir, 'crn-1', 'node.log'), 'utf8').split('\n').map(jsonLine);
    assert.ok(crnLog.some((l) => l?.msg === 'crn stopped'), 'CRN 1 stopped cleanly despite the second signal');
  });

  it('gives the same network on a second run: same hashes, same links, no new registration', async () => {
    run = await startDevnet();
    const again = run.state;
    const before = first as State;
    const nodes = (s: State) => ({ ccns: s.ccns.map((c) => ({ url: c.url, address: c.address, hash: c.hash, crns: c.crns })), crns: s.crns.map((c) => ({ url: c.url, hash: c.hash, address: c.address, ccn: c.ccn })) });
    assert.deepEqual(nodes(again), nodes(before));
    assert.equal(again.oracle.address, before.oracle.address);
    for (const [k, ccn] of again.ccns.entries()) {
      const reg = await corechannel(ccn.url, again.registry.address);
      const mine = again.crns.filter((_, i) => i % 2 === k);
      for (const crn of mine) {
        assert.equal(reg.resource_nodes.filter((n) => n.owner.toLowerCase() === crn.address.toLowerCase()).length, 1, `one registration of ${crn.url}`);
        assert.equal(reg.resource_nodes.find((n) => n.hash === crn.hash)?.parent, ccn.hash);
      }
      assert.equal(reg.nodes.filter((n) => n.owner.toLowerCase() === ccn.address.toLowerCase()).length, 1);
    }
    const exit = await run.devnet.stop('SIGINT');
    run = undefined;
    assert.equal(exit.code, 0);
    await eventually('nothing of the devnet to be left', 10_000, async () => nothingLeft(), async () => leftovers());
  });

  it('kill -9 of the devnet: its nodes see their stdin close and stop cleanly on their own', async () => {
    run = await startDevnet();
    const { devnet, state } = run;
    run = undefined;
    const pids = [...state.ccns, ...state.crns].map((n) => n.pid);
    // The sample program's workload runs detached from its CRN: only a clean stop removes it.
    assert.ok((leftovers().netns ?? []).length > 0, 'the sample program runs');
    devnet.child.kill('SIGKILL');
    await devnet.closed;
    await eventually('every node to stop', 60_000, async () => pids.every((pid) => !isAlive(pid)));
    await eventually('nothing of the devnet to be left', 10_000, async () => nothingLeft(), async () => leftovers());
  });

  it('stops the nodes already started when Ctrl-C comes during start-up', async () => {
    const devnet = new RunningProcess(process.execPath, devnetArgs);
    await devnet.waitForLine((l) => jsonLine(l)?.msg === 'starting crn-1');
    devnet.child.kill('SIGINT');
    const exit = await devnet.closed;
    assert.equal(exit.code, 1, 'the network never became ready');
    assert.match(devnet.stdout, /stop requested before the network was ready/);
    await eventually('nothing of the devnet to be left', 10_000, async () => nothingLeft(), async () => leftovers());
  });
});
