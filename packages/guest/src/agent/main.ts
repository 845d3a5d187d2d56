/**
 * The guest agent: the first real process of a program VM (under tini, which reaps orphans).
 *
 * 1. says hello on the control port (the host's boot watchdog waits for it);
 * 2. applies the configuration (network, code, volumes) and starts the entrypoint;
 * 3. reports `ready` once port 8080 accepts connections, forwards stdout/stderr as log lines;
 * 4. on `shutdown` (or when the program exits) stops the program, flushes disks, powers off.
 *
 * Bundled by the image build (esbuild, target node18) to /opt/aleph/agent.mjs. Run with
 * LAUNCHER_FLAG, the same bundle is a warm pool VM's pre-started Node.js instead (launcher.ts).
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { release, uptime } from 'node:os';
import { AGENT_PROTOCOL_VERSION } from '../protocol.ts';
import type { GuestConfig, HostMessage } from '../protocol.ts';
import { ControlChannel, findControlPort, sleep } from './channel.ts';
import { startGuestApi } from './guest-api.ts';
import { onRefresh } from './identity.ts';
import { LAUNCHER_FLAG, prestartFromCmdline, runNodeLauncher } from './launcher.ts';
import { applyConfig, unmountAll } from './setup.ts';
import { Workload } from './workload.ts';

const POWEROFF = ['/opt/aleph/bin/busybox', ['poweroff', '-f']] as const;

function console_(text: string): void {
  // The serial console is the host's only view when the control channel itself fails.
  process.stderr.write(`aleph-agent: ${text}\n`);
}

async function powerOff(): Promise<never> {
  await new Promise<void>((resolve) => execFile(POWEROFF[0], [...POWEROFF[1]], () => resolve()));
  // poweroff -f does not return on success; stay alive so PID 1 does not panic meanwhile.
  for (;;) await sleep(1000);
}

async function main(): Promise<void> {
  const path = await findControlPort();
  const channel = new ControlChannel(path);
  let config: GuestConfig | undefined;
  let halting = false;
  const workload = new Workload({
    log: (stream, text) => void channel.send({ type: 'log', stream, text }),
    ready: () => void channel.send({ type: 'ready' }),
    exited: (code, signal) => void channel.send({ type: 'exited', code, signal }),
    prestarted: (ok, error) => void channel.send(ok ? { type: 'prestarted', ok } : { type: 'prestarted', ok, error: error ?? 'no reason' }),
  });

  const halt = async (graceMs: number): Promise<void> => {
    if (halting) return;
    halting = true;
    await channel.send({ type: 'halting' });
    await workload.stop(graceMs);
    await unmountAll(config);
    await channel.flush();
    await powerOff();
  };

  const onMessage = (message: HostMessage): void => {
    if (message.type === 'configure') {
      if (config) {
        void channel.send({ type: 'configured', ok: false, error: 'already configured' });
        return;
      }
      config = message.config;
      const current = config;
      void (async () => {
        try {
          await applyConfig(current);
          // Before the program: the SDK checks for the socket when the program starts.
          await startGuestApi().catch((err: Error) => console_(`guest API not started: ${err.message}`));
          await workload.start(current);
          await channel.send({ type: 'configured', ok: true });
        } catch (err) {
          await channel.send({ type: 'configured', ok: false, error: (err as Error).message });
        }
      })();
    } else if (message.type === 'refresh') {
      // Only a restored VM that is not configured yet gets one (identity.ts).
      if (config) void channel.send({ type: 'refreshed', ok: false, error: 'already configured' });
      else void onRefresh(message, (m) => channel.send(m));
    } else if (message.type === 'shutdown') {
      void halt(Math.max(0, Math.min(message.graceMs, 60_000)));
    }
  };

  await channel.open(onMessage, (line) => console_(`ignored control line: ${line}`));
  await channel.send({ type: 'hello', version: AGENT_PROTOCOL_VERSION, kernel: release(), uptimeMs: Math.round(uptime() * 1000) });
  console_('hello sent');
  // After the hello, so the host's boot does not wait for it; never before a `refresh` matters:
  // the host does not ask for a prestart in a VM it snapshots (snapshot.ts).
  const prestart = prestartFromCmdline(await readFile('/proc/cmdline', 'utf8').catch(() => ''));
  if (prestart && !config) console_(workload.prestart(prestart) ? `${prestart} started ahead` : `${prestart} cannot start in this runtime`);
}

if (process.argv.includes(LAUNCHER_FLAG)) {
  runNodeLauncher().catch((err: Error) => {
    process.stderr.write(`${err.stack ?? err.message}\n`);
    process.exit(1);
  });
} else {
  main().catch(async (err: Error) => {
    console_(`fatal: ${err.stack ?? err.message}`);
    await powerOff();
  });
}
