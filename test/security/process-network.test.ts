/**
 * Hole 8 (network): a process workload reached a host service on its gateway address (the old
 * backend filtered nothing), and with `internet` both backends forwarded to RFC 1918, link-local
 * (169.254.169.254), CGNAT and the host's LAN. Here real workloads in the real sandbox try:
 *
 * - a TCP service of the host, bound to 0.0.0.0 and to the workload's gateway address, must be
 *   unreachable, with and without `internet`, as must every other address of the host;
 * - with `internet`, destinations in a stand-in network (egress-fixture.ts) must be unreachable
 *   in the forbidden ranges while its public address answers;
 * - the microVM backend's ruleset (the same generator, its own table and tap prefix), loaded in a
 *   scratch table, gives a guest network namespace the same result, after a control run without
 *   the table that reaches every destination (so the fixture is not what blocks them).
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { writeFileSync } from 'node:fs';
import { connect as tcpConnect, createServer, type Server } from 'node:net';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Firewall, type ExecutionHandle } from '@aleph-nodes/vmm';
import { createEgressFixture, type EgressFixture } from './helpers/egress-fixture.ts';
import { randomScope, snapshot, type Snapshot } from './helpers/sandbox-resources.ts';
import { createRig, gatewayOf, hostAddresses, interfaceWithAddress, type SandboxRig } from './helpers/sandbox-rig.ts';

type Reach = Record<string, { ok: boolean; error?: string; data?: string }>;

async function hostBanner(host: string): Promise<{ server: Server; port: number }> {
  const server = createServer((s) => s.end('host service\n'));
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return { server, port: (server.address() as { port: number }).port };
}

/** The first line a TCP service sends, from the host itself (the services are up). */
function bannerFrom(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(port, host);
    socket.setTimeout(10_000, () => socket.destroy(new Error('timeout')));
    socket.on('data', (d) => {
      resolve(d.toString().trim());
      socket.destroy();
    });
    socket.on('error', reject);
  });
}

const closeServer = (s: Server): Promise<void> => new Promise((r) => s.close(() => r()));

describe('process sandbox network (hole 8)', { skip: process.getuid?.() !== 0 ? 'needs root' : false }, () => {
  let rig: SandboxRig;
  let fixture: EgressFixture;
  let anyHost: { server: Server; port: number };
  let tag: string;
  let before0: Snapshot;
  const handles: ExecutionHandle[] = [];
  const owned = (): Parameters<typeof snapshot>[0] => ({ names: [rig.scope, `zeg-${tag}`, `zeg${tag}`, `zvm${tag}`, `zz_egress_${tag}`], dirs: [rig.root] });

  before(async () => {
    rig = createRig('net');
    tag = randomScope();
    before0 = snapshot(owned());
    fixture = await createEgressFixture(tag);
    anyHost = await hostBanner('0.0.0.0');
  });

  after(async () => {
    for (const h of handles) await h.stop(2000).catch(() => undefined);
    await rig.executor.close();
    await closeServer(anyHost.server);
    await fixture.close();
    rmSync(rig.root, { recursive: true, force: true });
    assert.deepEqual(snapshot(owned()), { ...before0, dirs: [] });
  });

  const start = async (internet: boolean): Promise<ExecutionHandle> => {
    const handle = await rig.executor.start(rig.spec({ internet }));
    handles.push(handle);
    await handle.waitReady(30_000);
    return handle;
  };

  const connect = (handle: ExecutionHandle, targets: string[]): Promise<Reach> =>
    rig.probe<Reach>(handle, `/connect?timeout=3000&${targets.map((t) => `to=${encodeURIComponent(t)}`).join('&')}`);

  it('keeps a workload without internet off every host service: its gateway, 0.0.0.0, the host addresses', async () => {
    const handle = await start(false);
    const gateway = gatewayOf(handle.endpoint.host);
    const onGateway = await hostBanner(gateway);
    try {
      // The services are up: the host itself reaches them.
      assert.equal(await bannerFrom(gateway, onGateway.port), 'host service');
      assert.equal(await bannerFrom(gateway, anyHost.port), 'host service');
      const targets = [`${gateway}:${anyHost.port}`, `${gateway}:${onGateway.port}`, ...hostAddresses(['lo', `aw${rig.scope}`]).map((a) => `${a}:${anyHost.port}`)];
      const reach = await connect(handle, targets);
      for (const t of targets) assert.equal(reach[t]?.ok, false, `${t} must be unreachable (${JSON.stringify(reach[t])})`);
    } finally {
      await closeServer(onGateway.server);
      await handle.stop();
    }
  });

  it('with internet: public unicast answers; private, link-local, CGNAT and the host do not', async () => {
    const handle = await start(true);
    const gateway = gatewayOf(handle.endpoint.host);
    const hostIf = interfaceWithAddress(gateway);
    assert.ok(hostIf, 'the workload has a host-side interface');
    fixture.routeFrom(hostIf);
    const targets = [...fixture.destinations.map((d) => `${d.address}:${fixture.port}`), `${gateway}:${anyHost.port}`, ...hostAddresses(['lo', `aw${rig.scope}`, `zeg${tag}`]).map((a) => `${a}:${anyHost.port}`)];
    const reach = await connect(handle, targets);
    for (const d of fixture.destinations) {
      const r = reach[`${d.address}:${fixture.port}`];
      assert.equal(r?.ok, d.allowed, `${d.what} ${d.address}: ${JSON.stringify(r)}`);
      if (d.allowed) assert.equal(r?.data, `reached ${d.address}`);
    }
    for (const t of targets.slice(fixture.destinations.length)) assert.equal(reach[t]?.ok, false, `host address ${t}: ${JSON.stringify(reach[t])}`);
    await handle.stop();
  });

  it("the microVM backend's ruleset gives a guest the same egress policy (nft level, real packets)", async () => {
    const prefix = `zvm${tag}`;
    const hostIf = `${prefix}h`;
    const ns = `zvm${tag}-guest`;
    const octet = Number.parseInt(tag.slice(0, 2), 36) % 250;
    const guestIp = `10.252.${octet}.2`;
    const gw = `10.252.${octet}.1`;
    const firewall = new Firewall({ nftPath: 'nft', table: `zz_egress_${tag}`, tapPrefix: prefix });
    const ip = (...args: string[]): void => void execFileSync('/usr/bin/ip', args);
    const script = `${rig.root}/guest-connect.cjs`;
    writeFileSync(script, `
const net = require('node:net');
const targets = process.argv.slice(2);
Promise.all(targets.map((t) => new Promise((resolve) => {
  const i = t.lastIndexOf(':');
  const s = net.connect(Number(t.slice(i + 1)), t.slice(0, i));
  let data = '';
  const done = (r) => { clearTimeout(timer); s.destroy(); resolve([t, r]); };
  const timer = setTimeout(() => done({ ok: false, error: 'timeout' }), 3000);
  s.on('data', (c) => { data += c; if (data.includes('\\n')) done({ ok: true, data: data.trim() }); });
  s.on('error', (e) => done({ ok: false, error: e.code }));
}))).then((r) => console.log(JSON.stringify(Object.fromEntries(r))));
`);
    // Asynchronously: the host service answering the guest lives in this process.
    const fromGuest = async (targets: string[]): Promise<Reach> => {
      const { stdout } = await promisify(execFile)('/usr/bin/nsenter', [`--net=/run/netns/${ns}`, '--', process.execPath, script, ...targets], { encoding: 'utf8', timeout: 30_000 });
      return JSON.parse(stdout) as Reach;
    };
    try {
      ip('netns', 'add', ns);
      ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
      ip('addr', 'add', `${gw}/30`, 'dev', hostIf);
      ip('link', 'set', hostIf, 'up');
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      ip('-n', ns, 'addr', 'add', `${guestIp}/30`, 'dev', 'eth0');
      ip('-n', ns, 'link', 'set', 'eth0', 'up');
      ip('-n', ns, 'route', 'add', 'default', 'via', gw);
      fixture.routeFrom(hostIf);
      writeFileSync('/proc/sys/net/ipv4/ip_forward', '1');
      const targets = [...fixture.destinations.map((d) => `${d.address}:${fixture.port}`), `${gw}:${anyHost.port}`];

      // Control: without the table the guest reaches every destination and the host.
      const open = await fromGuest(targets);
      for (const t of targets) assert.equal(open[t]?.ok, true, `control ${t}: ${JSON.stringify(open[t])}`);

      await firewall.ensure();
      await firewall.allowInternet(hostIf);
      const filtered = await fromGuest(targets);
      for (const d of fixture.destinations) assert.equal(filtered[`${d.address}:${fixture.port}`]?.ok, d.allowed, `${d.what}: ${JSON.stringify(filtered[`${d.address}:${fixture.port}`])}`);
      assert.equal(filtered[`${gw}:${anyHost.port}`]?.ok, false, 'the host service on the gateway');

      await firewall.revokeInternet(hostIf);
      const revoked = await fromGuest(targets);
      for (const t of targets) assert.equal(revoked[t]?.ok, false, `without internet ${t}`);
    } finally {
      await firewall.remove();
      try {
        ip('link', 'del', hostIf);
      } catch {
        // not created
      }
      try {
        ip('netns', 'del', ns);
      } catch {
        // not created
      }
    }
  });
});
