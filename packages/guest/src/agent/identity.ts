/**
 * A restored snapshot's fresh identity (host side: packages/vmm/src/microvm/snapshot-restore.ts).
 * Every VM restored from one snapshot wakes with the kernel random state, the MAC and the clock
 * of the moment the snapshot was taken. Before it is configured, the host sends `refresh`:
 *
 * - randomness: the host's seed is written to /dev/urandom (mixed into the input pool), then the
 *   kernel is made to reseed its CRNG from that pool at once (ioctl RNDRESEEDCRNG). Writing alone
 *   is not enough on Linux 6.1: the CRNG only reseeds every 60 s, so two clones would hand out
 *   the same bytes until then. Node has no ioctl; perl (perl-base, in every Debian runtime) does;
 * - clock: set to the host's time plus what passed since the message arrived (the guest's
 *   monotonic clock is right about that short span, its wall clock is not);
 * - MAC: the migrated virtio-net state carries the snapshot's MAC, not the one on the restore's
 *   command line, so the agent sets the VM's own through the device (QEMU follows the driver).
 *
 * The message comes from the host, which the agent trusts, but is still checked.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import type { GuestMessage, IdentityRefresh } from '../protocol.ts';

const run = promisify(execFile);

/** RNDRESEEDCRNG = _IO('R', 0x07): reseed the CRNG from the input pool now (needs CAP_SYS_ADMIN). */
const RESEED = 'open(my $f, "<", "/dev/urandom") or die "open: $!"; ioctl($f, 0x5207, 0) or die "RNDRESEEDCRNG: $!";';
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

export function checkRefresh(message: IdentityRefresh): { seed: Buffer; timeMs: number; mac: string } {
  const seed = typeof message.seed === 'string' && message.seed.length <= 1024 ? Buffer.from(message.seed, 'base64') : Buffer.alloc(0);
  if (seed.length < 32 || seed.length > 512) throw new Error('refresh: the seed must be 32-512 bytes of base64');
  if (!Number.isSafeInteger(message.timeMs) || message.timeMs <= 0) throw new Error('refresh: timeMs must be a positive integer');
  const mac = typeof message.mac === 'string' ? message.mac.toLowerCase() : '';
  // A unicast, locally or globally administered address (bit 0 of the first byte clear).
  if (!MAC.test(mac) || (parseInt(mac.slice(0, 2), 16) & 1) === 1) throw new Error('refresh: mac must be a unicast MAC address');
  return { seed, timeMs: message.timeMs, mac };
}

async function step(file: string, args: string[]): Promise<void> {
  try {
    await run(file, args, { timeout: 10_000 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${file}: ${(e.stderr || e.message).trim().slice(0, 300)}`);
  }
}

/** Applies a refresh; throws when any part fails (the host then ends the VM). */
export async function refreshIdentity(message: IdentityRefresh, interfaceName = 'eth0'): Promise<void> {
  const received = performance.now();
  const { seed, timeMs, mac } = checkRefresh(message);
  // The clock first: what follows (and the program) should see the right time.
  const now = timeMs + (performance.now() - received);
  await step('/usr/bin/date', ['-u', '-s', `@${(now / 1000).toFixed(3)}`]);
  await writeFile('/dev/urandom', seed);
  await step('/usr/bin/perl', ['-e', RESEED]);
  await step('/usr/sbin/ip', ['link', 'set', 'dev', interfaceName, 'address', mac]);
}

/** The agent's handler: applies the refresh and answers `refreshed`. */
export async function onRefresh(message: IdentityRefresh, send: (message: GuestMessage) => Promise<void>): Promise<void> {
  try {
    await refreshIdentity(message);
    await send({ type: 'refreshed', ok: true });
  } catch (err) {
    await send({ type: 'refreshed', ok: false, error: (err as Error).message.slice(0, 2000) });
  }
}
