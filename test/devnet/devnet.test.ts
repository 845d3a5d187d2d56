/**
 * The devnet and what it promises of the network, on the default executor (QEMU microVMs;
 * software emulation on the build machines), with one CCN (`--ccns 1`: the scheduling of one CCN
 * over its three CRNs; several CCNs are tested in devnet-multi.test.ts):
 * - `npm run devnet` starts a CCN and three linked CRNs on loopback, publishes the runtime, the
 *   instance image and a sample program, prints a working `curl` line, writes the state file;
 * - a fourth link is refused with its reason;
 * - a persistent program and an instance published with the official SDK run on exactly one CRN
 *   each; `kill -9` of the instance's CRN moves what it ran to another CRN within the CCN's
 *   failover bound (a setting), the instance answers SSH with the owner's key there, and the
 *   killed CRN, once back, runs no duplicate;
 * - aleph's diagnostic program, which the devnet publishes on its Python runtime, answers through
 *   `/vm/{hash}/` and `/status/check/fastapi` as the network's monitors probe it;
 * - Ctrl-C stops everything it started and leaves no VM or tap behind, even when a CRN gets the
 *   terminal's SIGINT and the devnet's SIGTERM in quick succession (it used to exit at once on the
 *   second signal and leave a QEMU VM and its tap running).
 * The CCN's monitor is made faster through its environment (CCN_* variables override the config
 * file the devnet writes), so that the failover fits the test's time.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AuthenticatedAlephHttpClient } from '@aleph-sdk/client';
import { importAccountFromPrivateKey } from '@aleph-sdk/ethereum';
import { ItemType } from '@aleph-sdk/message';
import { EthAccount } from '@aleph-nodes/protocol';
import { buildZip } from '@aleph-nodes/cli';
import { assertDiagnosticAnswers, assertFastapiCheck, assertUpstreamFixture } from '../compat/helpers/diagnostic.ts';
import { eventually, getJson } from '../helpers/eventually.ts';
import { isAlive, jsonLine, run, RunningProcess } from '../helpers/process.ts';
import { startNodeProcess, type NodeProcess } from '../kit/node-process.ts';

const dir = mkdtempSync(join(tmpdir(), 'devnet-test-'));
const dataDir = join(dir, 'data');
const MONITOR_ENV = {
  CCN_MONITOR_INTERVAL_SECONDS: '2',
  // The shipped probe timeout: VMs booting under software emulation load the two cores enough
  // that a shorter one can fail three rounds in a row on a healthy CRN and move its work.
  CCN_MONITOR_PROBE_TIMEOUT_SECONDS: '5',
  CCN_MONITOR_FAILURES_BEFORE_DOWN: '3',
  // The shipped default: an accepted push includes the new CRN booting the VM (seconds under TCG).
  CCN_FAILOVER_BOUND_SECONDS: '55',
  CCN_SCHEDULER_INTERVAL_SECONDS: '2',
  // Short score periods so that `ccn rewards` sees the kill within the test's time.
  CCN_SCORE_PERIOD_SECONDS: '30',
  CCN_METRICS_PUBLISH_INTERVAL_SECONDS: '5',
  // Idle workloads: the sample program, the SDK's program and instance (two of them on one CRN
  // after the failover) and the diagnostic program take more vCPUs than this host's two per CRN.
  CRN_CAPACITY_VCPUS: '4',
};
const SCORE_PERIOD = Number(MONITOR_ENV.CCN_SCORE_PERIOD_SECONDS);
const FAILOVER_BOUND_MS = Number(MONITOR_ENV.CCN_FAILOVER_BOUND_SECONDS) * 1000;
/** Booting a VM under software emulation takes tens of seconds; these waits are not measurements. */
const BOOT_WAIT_MS = 240_000;

interface State {
  ccn: { url: string; address: string; pid: number; key_file: string; hash: string };
  crns: { url: string; hash: string; address: string; pid: number; ccn: string }[];
  runtimes: { node: string; python?: string };
  rootfs: { debian?: string };
  diagnostic?: { program: string; url: string; check: string };
  registry: { address: string };
  oracle: { address: string; key_file: string };
  sample: { program: string; url: string };
}

interface Allocation {
  item_hash: string;
  type: string;
  crn: string | null;
  previous_crn: string | null;
  reason: string;
  push_status: string | null;
}

interface V2Execution {
  networking: { host_ipv4?: string | null; ipv4_ip?: string; mapped_ports?: Record<string, { host: number; tcp: boolean }> };
  running: boolean;
  vm_type: string;
}

const firewallTableExists = (): boolean => {
  try {
    execFileSync('nft', ['list', 'table', 'inet', 'aleph_microvm'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

const qemuOfDevnet = (): string[] => {
  try {
    return execFileSync('pgrep', ['-af', `qemu-system.*${dataDir}`], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
  } catch {
    return [];
  }
};

/** The taps of the devnet's running VMs, from their QEMU command lines. */
const tapsOfDevnet = (): string[] => qemuOfDevnet().flatMap((line) => [...line.matchAll(/ifname=([^,\s]+)/g)].map((m) => m[1] as string));

describe('devnet: three microVM CRNs, SDK workloads, failover', { timeout: 1_500_000 }, () => {
  const stateFile = join(dir, 'state.json');
  let devnet: RunningProcess;
  let state: State;
  let curlLine = '';
  const restarted: NodeProcess[] = [];
  /** The CRN killed by the failover test, until it is started again (its VMs outlive it). */
  let killedConfig: string | undefined;
  const sshKey = join(dir, 'id_ed25519');
  let program = '';
  let instance = '';
  /** The killed CRN and when it went down and came back (unix seconds), for the rewards test. */
  let outage: { hash: string; address: string; from: number; to: number } | undefined;

  const allocations = (): Promise<{ allocations: Allocation[]; crns: { hash: string; health: string }[] }> => getJson(`${state.ccn.url}/api/v0/allocations`);
  const allocation = async (hash: string): Promise<Allocation | undefined> => (await allocations()).allocations.find((a) => a.item_hash === hash);
  const crnOf = (hash: string | null) => state.crns.find((c) => c.hash === hash);
  const runningOn = async (url: string): Promise<string[]> => Object.keys(await getJson<Record<string, unknown>>(`${url}/about/executions/list`));

  let tableBefore = true;

  before(async () => {
    tableBefore = firewallTableExists();
    devnet = new RunningProcess(process.execPath, ['packages/cli/bin/devnet.js', '--state-file', stateFile, '--data-dir', dataDir, '--ccns', '1', '--crns', '3', '--ccn-port', '0', '--crn-port', '0'], { env: MONITOR_ENV });
    await devnet.waitForLine((l) => l.includes('devnet ready'));
    curlLine = await devnet.waitForLine((l) => l.trim().startsWith('curl '));
    state = JSON.parse(readFileSync(stateFile, 'utf8')) as State;
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'devnet-test', '-f', sshKey]);
  });

  /** A killed CRN's VMs keep running until it comes back: start it so that it stops them. */
  const reviveKilledCrn = async (): Promise<void> => {
    if (!killedConfig) return;
    const config = killedConfig;
    killedConfig = undefined;
    const back = await startNodeProcess('crn', {}, { configFile: config }).catch(() => undefined);
    if (back) restarted.push(back);
  };

  after(async () => {
    await reviveKilledCrn();
    for (const p of restarted) await p.stop();
    await devnet?.stop('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts the README network: the printed curl line calls the sample program; the registry links three CRNs', async () => {
    assert.equal(state.crns.length, 3);
    assert.match(state.runtimes.node, /^[0-9a-f]{64}$/);
    assert.match(state.rootfs.debian ?? '', /^[0-9a-f]{64}$/);
    // aleph's diagnostic program on the Python runtime, named by every CRN's fastapi check
    // (booted by the diagnostic test below).
    assert.match(state.runtimes.python ?? '', /^[0-9a-f]{64}$/);
    for (const crn of state.crns) {
      const config = await getJson<{ references: { CHECK_FASTAPI_VM_ID: string } }>(`${crn.url}/status/config`);
      assert.equal(config.references.CHECK_FASTAPI_VM_ID, state.diagnostic?.program);
    }
    assert.equal(state.registry.address.toLowerCase(), state.ccn.address.toLowerCase());
    const answer = (await (await fetch(curlLine.trim().slice('curl '.length))).json()) as { greeting: string; release: string };
    assert.equal(answer.greeting, 'hello from the devnet');
    const registry = await getJson<{ data: { corechannel: { nodes: { resource_nodes: string[] }[]; resource_nodes: { status: string }[] } } }>(
      `${state.ccn.url}/api/v0/aggregates/${state.registry.address}.json?keys=corechannel`,
    );
    assert.deepEqual([...(registry.data.corechannel.nodes[0]?.resource_nodes ?? [])].sort(), state.crns.map((c) => c.hash).sort());
    for (const crn of registry.data.corechannel.resource_nodes) assert.equal(crn.status, 'linked');
  });

  it('refuses a fourth link, with the reason', async () => {
    const init = await run(process.execPath, ['packages/cli/bin/crn.js', 'init', '--data-dir', join(dir, 'fourth'), '--ccn', state.ccn.url, '--domain', '127.0.0.9', '--json']);
    assert.equal(init.code, 0, init.stderr);
    const { configFile } = JSON.parse(init.stdout) as { configFile: string };
    const reg = await run(process.execPath, ['packages/cli/bin/crn.js', 'register', '--config', configFile, '--name', 'fourth', '--address', 'http://127.0.0.9:4020', '--tag', 'devnet', '--json']);
    assert.equal(reg.code, 0, reg.stderr);
    const { hash } = JSON.parse(reg.stdout) as { hash: string };
    const link = await run(process.execPath, ['packages/cli/bin/ccn.js', 'link', hash, '--ccn', state.ccn.url, '--key-file', state.ccn.key_file, '--tag', 'devnet', '--json']);
    assert.equal(link.code, 1, link.stdout + link.stderr);
    const out = JSON.parse(link.stdout) as { linked: boolean; reason: string | null };
    assert.equal(out.linked, false);
    assert.match(out.reason ?? '', /3/, `the reason names the limit: ${out.reason}`);
  });

  it('runs a persistent program and an instance published with the official SDK on exactly one CRN each', async () => {
    const user = EthAccount.generate();
    // The devnet enforces payments: the user holds ALEPH for what it publishes (the devnet's oracle).
    const funded = await run(process.execPath, ['packages/cli/bin/ccn.js', 'oracle', 'balance', user.address, '100000', '--key-file', state.oracle.key_file, '--ccn', state.ccn.url, '--json']);
    assert.equal(funded.code, 0, `ccn oracle balance: ${funded.stdout}${funded.stderr}`);
    const client = new AuthenticatedAlephHttpClient(importAccountFromPrivateKey(user.exportPrivateKey().replace(/^0x/, '')), state.ccn.url);
    const zip = await buildZip({
      'main.mjs': "import http from 'node:http'; import os from 'node:os';\nhttp.createServer((q, s) => s.end(JSON.stringify({ persistent: true, release: os.release() }))).listen(8080, '0.0.0.0');\n",
    });
    const published = await client.createProgram({
      file: new Blob([zip]),
      entrypoint: 'main.mjs',
      runtime: state.runtimes.node,
      isPersistent: true,
      memory: 128,
      storageEngine: ItemType.storage,
      channel: 'DEVNET-TEST',
      sync: true,
    });
    program = published.item_hash;
    const pub = readFileSync(`${sshKey}.pub`, 'utf8').trim();
    const created = await client.createInstance({
      channel: 'DEVNET-TEST',
      authorized_keys: [pub],
      resources: { vcpus: 1, memory: 256 },
      rootfs: { parent: { ref: state.rootfs.debian as string }, size_mib: 2560 },
      payment: { chain: 'ETH' as never, type: 'hold' as never },
      storageEngine: ItemType.storage,
      sync: true,
    });
    instance = created.item_hash;

    for (const hash of [program, instance]) {
      const row = await eventually(`${hash.slice(0, 12)} to be placed and pushed`, 60_000, async () => {
        const r = await allocation(hash);
        return r?.crn && r.push_status === 'ok' ? r : undefined;
      }, allocations);
      const lists = await Promise.all(state.crns.map((c) => runningOn(c.url)));
      assert.deepEqual(
        lists.map((l) => l.includes(hash)),
        state.crns.map((c) => c.hash === row.crn),
        `${row.type} runs on exactly one CRN (its placement: ${row.reason})`,
      );
    }
    const host = crnOf((await allocation(program))?.crn ?? null);
    const answer = await eventually('the persistent program to answer', BOOT_WAIT_MS, async () => {
      const res = await fetch(`${host?.url}/vm/${program}/`, { signal: AbortSignal.timeout(60_000) });
      return res.status === 200 ? ((await res.json()) as { release: string }) : undefined;
    });
    assert.notEqual(answer.release, execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim(), 'served from inside a VM');
  });

  it('moves what the instance\'s CRN ran after kill -9, within the failover bound; SSH reaches the instance on its new CRN', async (t) => {
    const before = await allocation(instance);
    const dead = crnOf(before?.crn ?? null);
    assert.ok(dead, 'the instance has a CRN');
    const movedHashes = [instance, ...((await allocation(program))?.crn === dead.hash ? [program] : [])];
    const deadConfig = join(dataDir, `crn-${state.crns.indexOf(dead) + 1}`, 'config.json');
    const killedAt = Date.now();
    process.kill(dead.pid, 'SIGKILL');
    killedConfig = deadConfig;
    await eventually('the CRN process to be gone', 10_000, async () => !isAlive(dead.pid));

    for (const hash of movedHashes) {
      // The bound is the CCN's setting: detection, placement and an accepted push to the new CRN.
      const moved: Allocation = await eventually(`${hash.slice(0, 12)} to be moved`, FAILOVER_BOUND_MS, async (): Promise<Allocation | undefined> => {
        const r = await allocation(hash);
        return r?.crn && r.crn !== dead.hash && r.push_status === 'ok' ? r : undefined;
      }, allocations);
      assert.equal(moved.previous_crn, dead.hash);
      assert.match(moved.reason, /^moved from [0-9a-f]{12} \(its CRN is down/);
      t.diagnostic(`${moved.type} moved ${((Date.now() - killedAt) / 1000).toFixed(1)} s after kill -9 (bound ${FAILOVER_BOUND_MS / 1000} s)`);
    }

    const target = crnOf((await allocation(instance))?.crn ?? null);
    const execution = await eventually('the moved instance to run with its SSH port forwarded', BOOT_WAIT_MS, async () => {
      const list = await getJson<Record<string, V2Execution>>(`${target?.url}/v2/about/executions/list`);
      const e = list[instance];
      return e?.running && e.networking.mapped_ports?.['22'] ? e : undefined;
    });
    assert.equal(execution.vm_type, 'instance');
    const port = String(execution.networking.mapped_ports?.['22']?.host);
    const sshArgs = ['-i', sshKey, '-p', port, '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'ConnectTimeout=20', `root@${execution.networking.host_ipv4}`, 'uname -r'];
    const release = await eventually('SSH with the owner\'s key to answer', BOOT_WAIT_MS, async () => {
      const r = await run('ssh', sshArgs);
      return r.code === 0 ? r.stdout.trim() : undefined;
    });
    assert.notEqual(release, execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim(), 'the instance runs the guest kernel');

    // The killed CRN comes back (as systemd would restart it), re-adopts its VMs, and the CCN's
    // push without the moved workloads makes it stop them: nothing runs twice.
    const back = await startNodeProcess('crn', {}, { configFile: deadConfig });
    restarted.push(back);
    killedConfig = undefined;
    outage = { hash: dead.hash, address: dead.address, from: killedAt / 1000, to: Date.now() / 1000 };
    await eventually('the returning CRN to run none of the moved workloads', BOOT_WAIT_MS, async () => {
      const health = (await allocations()).crns.find((c) => c.hash === dead.hash)?.health;
      const list = await runningOn(dead.url);
      return health === 'healthy' && movedHashes.every((h) => !list.includes(h));
    }, allocations);
    for (const hash of movedHashes) {
      const lists = await Promise.all(state.crns.map((c) => runningOn(c.url)));
      assert.equal(lists.filter((l) => l.includes(hash)).length, 1, `${hash.slice(0, 12)} runs exactly once`);
    }
  });

  // Before the rewards test, which mostly waits for the end of a score period: the Python VM boots meanwhile.
  it("answers as aleph's diagnostic program through /vm/{hash}/ and /status/check/fastapi (what the network's monitors probe)", async (t) => {
    assertUpstreamFixture();
    const hash = state.diagnostic?.program ?? '';
    assert.match(hash, /^[0-9a-f]{64}$/);
    // A CRN that was not killed (the killed one is back, but its restart is not under test here).
    const crn = state.crns.find((c) => c.hash !== outage?.hash) ?? state.crns[0];
    assert.ok(crn);
    const seconds = await assertDiagnosticAnswers(crn.url, hash);
    const checks = await assertFastapiCheck(crn.url);
    t.diagnostic(`diagnostic program: first answer after ${seconds.toFixed(1)} s; checks ${JSON.stringify(checks)}`);
  });

  it('scores the CRN that was down lower and pays it less (ccn rewards over the outage)', async (t) => {
    assert.ok(outage, 'a CRN was killed and came back');
    const down = outage;
    // Whole score periods around the outage; the CCN publishes each period's scores at its end.
    const from = Math.floor(down.from / SCORE_PERIOD) * SCORE_PERIOD;
    const to = Math.ceil(down.to / SCORE_PERIOD) * SCORE_PERIOD;
    await eventually('the score post of the last period', 120_000 + Math.max(0, to * 1000 - Date.now()), async () => {
      const { posts } = await getJson<{ posts: { content: { period: { to_date: number } } }[] }>(`${state.ccn.url}/api/v0/posts.json?types=aleph-scoring-scores&pagination=5`);
      return posts.some((p) => p.content.period.to_date >= to);
    });
    const rewards = await run(process.execPath, ['packages/cli/bin/ccn.js', 'rewards', '--ccn', state.ccn.url, '--tag', 'devnet', '--from', String(from), '--to', String(to), '--json']);
    assert.equal(rewards.code, 0, rewards.stdout + rewards.stderr);
    const report = JSON.parse(rewards.stdout) as { nodes: Record<string, { score: number }>; distribution: { rewards: Record<string, number> } };
    const healthy = state.crns.filter((c) => c.hash !== down.hash);
    const score = (hash: string): number => report.nodes[hash]?.score ?? 0;
    const earned = (address: string): number => report.distribution.rewards[address.toLowerCase()] ?? 0;
    t.diagnostic(`scores over ${to - from} s: down ${score(down.hash).toFixed(3)}, healthy ${healthy.map((c) => score(c.hash).toFixed(3)).join(', ')}; ALEPH ${earned(down.address).toFixed(6)} vs ${healthy.map((c) => earned(c.address).toFixed(6)).join(', ')}`);
    for (const c of healthy) {
      assert.ok(score(down.hash) < score(c.hash), `the down CRN scores lower (${score(down.hash)} < ${score(c.hash)})`);
      assert.ok(earned(down.address) < earned(c.address), `the down CRN earns less (${earned(down.address)} < ${earned(c.address)})`);
    }
  });

  it("stops everything on Ctrl-C, also when a CRN gets the terminal's SIGINT and the devnet's SIGTERM at once: nodes, VMs, taps, the state file", async () => {
    await reviveKilledCrn();
    for (const p of restarted.splice(0)) {
      await p.stop();
      assert.equal(await p.exited, 0);
    }
    const pids = [state.ccn.pid, ...state.crns.map((c) => c.pid)];
    const taps = tapsOfDevnet();
    assert.ok(taps.length > 0, 'the devnet runs VMs (the check below has something to find)');
    // A CRN that runs a VM gets SIGINT as if from the terminal; the devnet gets SIGINT, then a
    // SIGTERM right after; the other nodes get the devnet's one SIGTERM only.
    const withVm = await (async () => {
      for (const c of state.crns) if (isAlive(c.pid) && (await runningOn(c.url).catch(() => [])).length > 0) return c;
      return undefined;
    })();
    assert.ok(withVm, 'a CRN runs a workload');
    process.kill(withVm.pid, 'SIGINT');
    process.kill(devnet.child.pid as number, 'SIGINT');
    process.kill(devnet.child.pid as number, 'SIGTERM');
    const exit = await devnet.closed;
    assert.equal(exit.code, 0, devnet.stderr);
    for (const pid of pids) assert.ok(!isAlive(pid), `node ${pid} was stopped`);
    assert.ok(!existsSync(stateFile), 'the state file is removed when the network stops');
    assert.deepEqual(qemuOfDevnet(), [], 'no QEMU process of the devnet is left');
    const links = readdirSync('/sys/class/net');
    assert.deepEqual(taps.filter((t) => links.includes(t)), [], `no tap of the devnet's VMs is left (${taps.join(', ')})`);
    // Other tests' VMs could keep the table alive; on a host with none it goes with the devnet.
    if (!tableBefore) assert.equal(firewallTableExists(), false, 'the firewall table the devnet created is removed');
  });
});

describe('devnet: bad start conditions', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses a busy port, names it, and exits non-zero', async () => {
    const { createServer } = await import('node:net');
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    after(() => server.close());
    const port = (server.address() as { port: number }).port;
    const devnet = new RunningProcess(process.execPath, ['packages/cli/bin/devnet.js', '--state-file', join(dir, 'busy.json'), '--data-dir', join(dir, 'busy'), '--ccn-port', String(port), '--crn-port', '0']);
    const exit = await devnet.closed;
    assert.equal(exit.code, 1);
    assert.match(devnet.stdout + devnet.stderr, new RegExp(`port ${port}.*busy`));
  });

  it('names a missing dependency and exits non-zero', async () => {
    // A PATH without /usr/bin hides qemu-system-x86_64 (node itself is started by its full path).
    const devnet = new RunningProcess(process.execPath, ['packages/cli/bin/devnet.js', '--state-file', join(dir, 'nodeps.json'), '--data-dir', join(dir, 'nodeps'), '--ccn-port', '0', '--crn-port', '0'], { env: { PATH: '/nonexistent' } });
    const exit = await devnet.closed;
    assert.equal(exit.code, 1);
    assert.match(devnet.stdout + devnet.stderr, /qemu-system-x86_64 \(Debian package qemu-system-x86\)/);
  });
});
