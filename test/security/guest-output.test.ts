/**
 * Attack: a hostile guest fills the host. Root inside a real microVM (QEMU TCG) floods
 * its serial console, writes one endless line without a newline, floods stdout with huge lines,
 * and writes malformed and oversized frames straight into the control port (it takes the agent's
 * descriptor with pidfd_getfd, as root in the guest can). On the host: the console files stay
 * under their bound (rotation), the memory held for the VM stays bounded (log buffer, console
 * follower's partial line, control decoder), the VM keeps working through the invalid frames,
 * a long run of them ends the VM with a clear reason, and the host process never crashes.
 *
 * On the earlier code: the console file only grew, the follower's partial line grew with the
 * endless line, every log line was kept whole, and 32 MiB lines were buffered from the guest.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { GuestImages } from '@aleph-nodes/guest/build';
import { Firewall } from '../../packages/vmm/src/net/firewall.ts';
import { MicroVm, hostTscKhz, DEFAULT_TAP_POOL } from '../../packages/vmm/src/microvm/index.ts';
import type { TapPoolConfig } from '../../packages/vmm/src/microvm/index.ts';
import { ConsoleFollower, MAX_CONSOLE_LINE } from '../../packages/vmm/src/microvm/console-log.ts';
import { eventually } from '../helpers/eventually.ts';
import { guestImages, zipFiles } from '../guest/helpers.ts';
import { hostCounts, type HostCounts } from './microvm-support.ts';

const TAP_PREFIX = 'sotap';
const CONSOLE_MAX = 256 * 1024;
const LOG_BUFFER_BYTES = 1024 * 1024;

/** The hostile program: root in the guest, driven over HTTP by the test. */
const HOSTILE = String.raw`
const http = require('node:http');
const fs = require('node:fs');
const { execFileSync } = require('node:child_process');

// The agent (our parent) holds the control port open; a second open() is EBUSY. Root takes a
// copy of its descriptor with pidfd_getfd (perl's syscall(): the image has no compiler).
function controlFd() {
  const agent = process.ppid;
  for (const fd of fs.readdirSync('/proc/' + agent + '/fd')) {
    let target = '';
    try { target = fs.readlinkSync('/proc/' + agent + '/fd/' + fd); } catch {}
    if (/^\/dev\/vport/.test(target)) return { agent, fd: Number(fd) };
  }
  throw new Error('control port not found');
}
function writeControl(data) {
  const { agent, fd } = controlFd();
  const script = 'my $p = syscall(434, ' + agent + ', 0); die "pidfd_open: $!" if $p < 0; my $fd = syscall(438, $p, ' + fd + ', 0); die "pidfd_getfd: $!" if $fd < 0; open(my $fh, ">&=", $fd) or die "open: $!"; binmode $fh; local $/; my $d = <STDIN>; my $off = 0; while ($off < length $d) { my $n = syswrite($fh, $d, 1 << 16, $off); die "write: $!" unless defined $n; $off += $n; }';
  execFileSync('/usr/bin/perl', ['-e', script], { input: data, maxBuffer: 1 << 20 });
  return data.length;
}

function flood(path, total, line) {
  const fd = fs.openSync(path, 'w');
  const started = Date.now();
  let written = 0;
  const chunk = Buffer.from((line + '\n').repeat(Math.max(1, Math.floor(65536 / (line.length + 1)))));
  while (written < total) written += fs.writeSync(fd, chunk);
  fs.closeSync(fd);
  return { written, ms: Date.now() - started };
}

http.createServer((req, res) => {
  const url = new URL(req.url, 'http://guest');
  const answer = (value) => { res.setHeader('content-type', 'application/json'); res.end(JSON.stringify(value)); };
  try {
    if (url.pathname === '/console') {
      const result = flood('/dev/ttyS0', Number(url.searchParams.get('bytes')), 'console flood line '.repeat(4));
      for (let i = 0; i < 5; i++) try { fs.writeFileSync('/dev/kmsg', 'kmsg flood line ' + i + '\n'); } catch {}
      return answer(result);
    }
    if (url.pathname === '/endless-line') {
      const fd = fs.openSync('/dev/ttyS0', 'w');
      const chunk = Buffer.alloc(65536, 'y');
      let written = 0;
      while (written < Number(url.searchParams.get('bytes'))) written += fs.writeSync(fd, chunk);
      fs.closeSync(fd);
      return answer({ written });
    }
    if (url.pathname === '/stdout') {
      // Long lines (cut on the host), then lines that make the agent send oversized frames, then a flood.
      const long = 'l'.repeat(30 * 1024);
      for (let i = 0; i < 8; i++) process.stdout.write(long + '\n');
      setTimeout(() => {
        const huge = 'h'.repeat(200 * 1024);
        for (let i = 0; i < 20; i++) process.stdout.write(huge + '\n');
        const line = 'f'.repeat(1000) + '\n';
        for (let i = 0; i < 20000; i++) process.stdout.write(line);
      }, 1500);
      return answer({ ok: true });
    }
    if (url.pathname === '/control-garbage') {
      const frames = [
        'not json at all',
        '{"type":"log","stream":"stdout","text":12}',
        '{"type":"log","stream":"stdout","text":"x","extra":true}',
        '{"type":"exited","code":"zero","signal":null}',
        '{"type":"hello","version":"1","kernel":"' + 'k'.repeat(300) + '","uptimeMs":1}',
        '{"type":"configured","ok":false,"error":"' + 'e'.repeat(5000) + '"}',
        '{"type":"nonsense"}',
        '[1,2,3]',
        '{"__proto__":{"polluted":true},"type":"ready"}',
      ].join('\n') + '\n';
      let written = writeControl(Buffer.from(frames));
      // One oversized frame (dropped as it streams past), then a valid-looking line.
      written += writeControl(Buffer.concat([Buffer.alloc(3 * 1024 * 1024, 'z'), Buffer.from('\n')]));
      return answer({ written });
    }
    if (url.pathname === '/control-run') {
      const n = Number(url.searchParams.get('n'));
      return answer({ written: writeControl(Buffer.from('{"type":"bogus"}\n'.repeat(n))) });
    }
    return answer({ ok: true });
  } catch (err) {
    res.statusCode = 500;
    answer({ error: String(err && err.stack || err) });
  }
}).listen(8080);
`;

describe('a hostile guest cannot fill the host (console, logs, control channel)', { timeout: 900_000 }, () => {
  let images: GuestImages;
  let runDir: string;
  let network: TapPoolConfig;
  let firewall: Firewall;
  let counts: HostCounts;

  before(async () => {
    images = await guestImages();
    runDir = await mkdtemp(join(tmpdir(), 'sovm-'));
    network = { ...DEFAULT_TAP_POOL, prefix: TAP_PREFIX, leaseDir: join(runDir, 'leases') };
    firewall = new Firewall({ nftPath: '/usr/sbin/nft', table: 'aleph_test_sec_output', tapPrefix: TAP_PREFIX });
    counts = hostCounts(runDir, TAP_PREFIX, ['sovm-']);
  });

  after(async () => {
    await firewall?.remove();
    await rm(runDir, { recursive: true, force: true });
    const now = hostCounts(runDir, TAP_PREFIX, ['sovm-']);
    assert.deepEqual(now, { ...counts, tmp: counts.tmp.filter((e) => e !== basename(runDir)) }, 'QEMU processes, taps, cgroups or temp dirs left behind');
  });

  it('bounds every path of guest output, survives invalid frames, and ends a VM that keeps sending them', async () => {
    const zip = await zipFiles({ 'server.js': HOSTILE });
    const vm = new MicroVm({
      id: 'hostile-guest',
      qemuPath: 'qemu-system-x86_64',
      accelerator: 'tcg',
      kvmCpu: 'host',
      tscKhz: hostTscKhz(),
      kernel: images.kernel,
      initramfs: images.initramfs,
      runtime: images.runtimes.node,
      vcpus: 1,
      memoryMib: 384,
      drives: [],
      guest: { code: { encoding: 'zip', zipBase64: zip.toString('base64') }, entrypoint: 'server.js', variables: {}, volumes: [] },
      network,
      firewall,
      runDir,
      output: { consoleMaxBytes: CONSOLE_MAX, logBufferBytes: LOG_BUFFER_BYTES },
      onEvent: (line) => process.stderr.write(`# ${line}\n`),
    });
    // Largest sizes seen on the host while the attacks run.
    const seen = { console: 0, console1: 0, logBytes: 0, partialBytes: 0, controlBytes: 0, followerPartial: 0 };
    const size = (path: string) => {
      try {
        return statSync(path).size;
      } catch {
        return 0;
      }
    };
    let sampler: NodeJS.Timeout | undefined;
    let follower: ConsoleFollower | undefined;
    const followed: string[] = [];
    // Every line delivered to the VM's log (the buffer itself keeps only the last ones).
    const delivered: string[] = [];
    vm.logs.subscribe((line) => delivered.push(line.text.length > 64 ? `${line.text.slice(0, 32)}…${line.text.slice(-32)} (${line.text.length})` : line.text));
    try {
      await vm.start();
      await vm.waitReady(300_000);
      const base = `http://${vm.tap!.guestIp}:8080`;
      const get = async (path: string) => {
        const res = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(240_000) });
        const body = (await res.json()) as Record<string, unknown>;
        assert.equal(res.status, 200, JSON.stringify(body));
        return body;
      };
      const consolePath = vm.consolePath!;
      // The follower instances use, on this VM's real console file.
      follower = new ConsoleFollower(consolePath, (line) => followed.push(line), 100);
      follower.start();
      sampler = setInterval(() => {
        const usage = vm.outputUsage();
        seen.console = Math.max(seen.console, size(consolePath));
        seen.console1 = Math.max(seen.console1, size(`${consolePath}.1`));
        seen.logBytes = Math.max(seen.logBytes, usage.logBytes);
        seen.partialBytes = Math.max(seen.partialBytes, usage.partialBytes);
        seen.controlBytes = Math.max(seen.controlBytes, usage.controlBytes);
        seen.followerPartial = Math.max(seen.followerPartial, follower?.partialLength ?? 0);
      }, 20);

      // 1. Console flood: far more than the bound, as fast as the guest can write.
      const flooded = (await get(`/console?bytes=${2 * 1024 * 1024}`)) as { written: number; ms: number };
      const rate = flooded.written / Math.max(0.001, flooded.ms / 1000);
      process.stderr.write(`# console flood: ${flooded.written} bytes in ${flooded.ms} ms (${Math.round(rate / 1024)} KiB/s)\n`);
      await eventually('a console rotation', 30_000, async () => size(`${consolePath}.1`) > 0);
      // The bound: the size setting plus what arrives between two checks (1 s), with a second of margin.
      const slack = 2 * rate + 64 * 1024;
      assert.ok(seen.console <= CONSOLE_MAX + slack, `console.log reached ${seen.console} bytes (bound ${CONSOLE_MAX} + ${Math.round(slack)})`);
      assert.ok(seen.console1 <= CONSOLE_MAX + slack, `console.log.1 reached ${seen.console1} bytes`);

      // 2. One line without end on the console.
      await get(`/endless-line?bytes=${1024 * 1024}`);
      await eventually('the follower cutting the endless line', 30_000, async () => followed.some((l) => l.endsWith('[line cut]') && l.startsWith('y')));
      assert.ok(seen.followerPartial <= MAX_CONSOLE_LINE, `the follower held a partial line of ${seen.followerPartial} characters`);
      assert.ok(followed.every((l) => l.length <= MAX_CONSOLE_LINE), 'no line over the cap was handed over');

      // 3. stdout: oversized, long and flooding lines.
      await get('/stdout');
      await eventually('the dropped-output line', 60_000, async () => vm.recentLogs().some((l) => /^\[\d+ bytes of output dropped\]$/.test(l.text)));
      process.stderr.write(`# delivered: ${JSON.stringify(delivered.filter((l) => !l.startsWith("ffff")).slice(0, 12))}\n`);
      assert.ok(vm.recentLogs().every((l) => l.text.length <= 16 * 1024), 'every kept line is cut to 16 KiB');
      assert.ok(delivered.some((l) => /^l+…l+ \[line cut\] \(16384\)$/.test(l)), `long lines arrive cut: ${delivered.filter((l) => l.startsWith('l')).slice(0, 3).join(' | ')}`);
      assert.ok(delivered.every((l) => Number(/\((\d+)\)$/.exec(l)?.[1] ?? 0) <= 16 * 1024), 'no line over the cap was delivered');
      assert.ok(seen.logBytes <= LOG_BUFFER_BYTES, `log buffer reached ${seen.logBytes} bytes`);

      // 4. Malformed and oversized frames on the control port: counted, ignored, the VM works on.
      const before = vm.outputUsage().invalidFrames;
      await get('/control-garbage');
      await eventually('the invalid frames counted', 30_000, async () => vm.outputUsage().invalidFrames >= before + 10);
      const after = (await get('/ping')) as { ok: boolean };
      assert.equal(after.ok, true, 'the VM keeps working');
      assert.equal(vm.state, 'running');
      assert.ok(seen.controlBytes <= 64 * 1024, `the control decoder held ${seen.controlBytes} bytes`);
      assert.ok(seen.partialBytes <= 2 * MAX_CONSOLE_LINE);

      // 5. A long run of invalid frames: the VM is ended, and says why.
      await get('/control-run?n=500').catch(() => ({}));
      const exit = await vm.exited;
      assert.match(exit.reason ?? '', /invalid control messages in a row/);
      assert.ok(vm.recentLogs().some((l) => /^\[aleph\] the VM was ended: the guest sent \d+ invalid control messages/.test(l.text)), 'the owner sees why');
      assert.equal(vm.state, 'failed');
    } finally {
      if (sampler) clearInterval(sampler);
      follower?.stop();
      await vm.stop(10_000);
    }
    process.stderr.write(`# largest on the host: ${JSON.stringify(seen)}\n`);
  });
});
