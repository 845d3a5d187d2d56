/**
 * IPv6 egress of a microVM (issue 15 item 4): with an IPv6 range a VM's traffic is routed, not
 * translated, so without rules of its own a guest with internet could reach every IPv6 network
 * the host can: unique local ranges behind it, the host's own LAN, and it could send from any
 * address (another tenant's /124, the host's). A real VM under QEMU, with the node's firewall, tries:
 *
 * - a public unicast address (stand-in namespace, egress6-fixture.ts): reached, from the guest's
 *   own address (the control: the fixture routes and answers);
 * - a ULA address and the host's attached subnet (same route as the public one): refused;
 * - the public address again from an address of ANOTHER VM's /124 that the guest added to its own
 *   interface (it is root in its VM): refused.
 *
 * Before this change the masquerade rule covered IPv6 and no source check existed; the ULA and
 * LAN drops are the shared egress lists (the same generator for both families).
 */
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ExecutionHandle } from '@aleph-nodes/vmm';
import { ipv6Lease } from '@aleph-nodes/vmm';
import { MicroVmExecutor } from '../../packages/vmm/src/microvm/microvm-executor.ts';
import { guestImages, qemuProcesses, tapNames } from '../guest/helpers.ts';
import { eventually } from '../helpers/eventually.ts';
import { createEgress6Fixture, type Egress6Fixture } from './helpers/egress6-fixture.ts';

const PROGRAM = `
import http from 'node:http';
import net from 'node:net';
import dgram from 'node:dgram';
import { execFileSync } from 'node:child_process';
import { networkInterfaces } from 'node:os';
http.createServer((req, res) => {
  const url = new URL(req.url, 'http://guest');
  const reply = (body) => { res.setHeader('content-type', 'application/json'); res.end(JSON.stringify(body)); };
  if (url.pathname === '/addresses') return reply(networkInterfaces());
  if (url.pathname === '/add') {
    try { execFileSync('/bin/ip', ['-6', 'addr', 'add', url.searchParams.get('address') + '/128', 'dev', 'eth0', 'nodad']); return reply({ ok: true }); }
    catch (err) { return reply({ ok: false, error: String(err) }); }
  }
  if (url.pathname === '/udp') {
    // One datagram from the given source: received or not is what the far end sees (one way).
    const socket = dgram.createSocket('udp6');
    socket.bind(0, url.searchParams.get('local'), () => {
      socket.send(url.searchParams.get('text'), Number(url.searchParams.get('port')), url.searchParams.get('host'), (err) => { socket.close(); reply({ sent: !err, error: err ? String(err) : undefined }); });
    });
    socket.once('error', (err) => reply({ sent: false, error: String(err) }));
    return;
  }
  const options = { host: url.searchParams.get('host'), port: Number(url.searchParams.get('port')), family: 6 };
  if (url.searchParams.get('local')) options.localAddress = url.searchParams.get('local');
  const socket = net.connect(options);
  let data = '';
  const answer = (result) => { socket.destroy(); reply({ result, data }); };
  socket.setTimeout(4000, () => answer('timeout'));
  socket.on('data', (d) => { data += d; });
  socket.once('end', () => answer('connected'));
  socket.once('error', (err) => answer(err.code));
}).listen(8080);
`;

describe('microVM IPv6 egress', { skip: process.getuid?.() !== 0 ? 'needs root' : false, timeout: 400_000 }, () => {
  const tag = randomInt(0x100, 0xfff).toString(16);
  const tapPrefix = `v6t${tag}`;
  const range = `2a0d:${randomInt(0x1000, 0xffff).toString(16)}:${tag}::/64`;
  let stateDir: string;
  let work: string;
  let executor: MicroVmExecutor;
  let fixture: Egress6Fixture;
  let handle: ExecutionHandle;

  before(async () => {
    const images = await guestImages();
    stateDir = mkdtempSync(join(tmpdir(), 'v6e-'));
    work = mkdtempSync(join(tmpdir(), 'v6e-work-'));
    mkdirSync(join(work, 'code'));
    writeFileSync(join(work, 'code', 'main.mjs'), PROGRAM);
    fixture = await createEgress6Fixture(tag);
    executor = await MicroVmExecutor.create({
      kernel: images.kernel, initramfs: images.initramfs, defaultRuntime: images.runtimes.node, stateDir,
      network: { prefix: tapPrefix, ipv6Range: range }, accelerator: 'tcg', firewall: { table: `aleph_test_v6_${tag}` },
      codeCache: false,
      // Generous: a loaded CI machine slows TCG boots a lot (a deadline, not a timing assertion).
      boot: { stallMs: 30_000, timeoutMs: 240_000 },
    });
    handle = await executor.start({
      id: 'ipv6-egress', code: { dir: join(work, 'code'), entrypoint: 'main.mjs' }, volumes: [], variables: {},
      resources: { vcpus: 1, memoryMib: 384 }, internet: true,
    });
    const [tap] = tapNames(tapPrefix);
    assert.ok(tap, 'the VM has its tap');
    fixture.routeFrom(tap);
    await handle.waitReady(240_000);
  });

  after(async () => {
    await handle?.stop(10_000).catch(() => {});
    await executor?.cleanupOrphans(new Set());
    await executor?.close();
    await executor?.firewall?.remove();
    await fixture?.close();
    rmSync(stateDir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
    assert.deepEqual(tapNames(tapPrefix), []);
    assert.deepEqual(qemuProcesses(stateDir), []);
  });

  const ask = async (path: string): Promise<{ result?: string; data?: string; ok?: boolean }> => {
    const res = await fetch(`http://${handle.endpoint.host}:${handle.endpoint.port}${path}`, { signal: AbortSignal.timeout(30_000) });
    return (await res.json()) as { result?: string; data?: string; ok?: boolean };
  };

  it('reaches a public IPv6 address from its own address, routed (not translated)', async () => {
    assert.equal(handle.network?.ipv6Network, ipv6Lease(range, Number(tapNames(tapPrefix)[0]!.slice(tapPrefix.length))).network);
    const out = await ask(`/connect?host=${fixture.publicAddress}&port=${fixture.port}`);
    assert.equal(out.result, 'connected', JSON.stringify(out));
    // The host reaches the guest's IPv6 address too (routed to its tap).
    const direct = await fetch(`http://[${handle.network!.ipv6Ip}]:8080/addresses`, { signal: AbortSignal.timeout(20_000) });
    assert.equal(direct.status, 200);
    // The far end sees the guest's own address: no masquerade on IPv6.
    assert.match(out.data ?? '', new RegExp(`from ${handle.network!.ipv6Ip!.replace(/\./g, '\\.')}`));
  });

  it('cannot reach a unique local (ULA) address nor the host\'s attached IPv6 subnet', async () => {
    for (const address of [fixture.ulaAddress, fixture.lanAddress]) {
      const out = await ask(`/connect?host=${address}&port=${fixture.port}`);
      assert.notEqual(out.result, 'connected', `${address} must be refused: ${JSON.stringify(out)}`);
    }
  });

  it('cannot send from an address outside its own /124 (another tenant\'s)', async () => {
    const id = Number(tapNames(tapPrefix)[0]!.slice(tapPrefix.length));
    const stolen = ipv6Lease(range, id + 1).guestIp;
    const added = await ask(`/add?address=${stolen}`);
    assert.equal(added.ok, true, JSON.stringify(added));
    // UDP, one way: a spoofed packet's replies would go to the victim, so only what arrives counts.
    const spoofed = (await ask(`/udp?host=${fixture.publicAddress}&port=${fixture.port}&local=${stolen}&text=spoofed`)) as { sent?: boolean };
    assert.equal(spoofed.sent, true, JSON.stringify(spoofed));
    const own = (await ask(`/udp?host=${fixture.publicAddress}&port=${fixture.port}&local=${handle.network!.ipv6Ip}&text=own`)) as { sent?: boolean };
    assert.equal(own.sent, true);
    // The datagram from its own address arrives (the control); the spoofed one, sent first, never does.
    await eventually('the datagram from its own address', 20_000, async () => fixture.datagrams().some((d) => d === `${handle.network!.ipv6Ip} own`));
    assert.deepEqual(fixture.datagrams().filter((d) => d.endsWith('spoofed')), []);
  });
});
