/**
 * Shared by the microVM security tests: host resource counts (QEMU processes, taps, cgroups,
 * temporary directories) and a /proc watcher that records who runs a given program.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { detectCgroups } from '../../packages/vmm/src/host/cgroups.ts';
import { VM_CGROUP_PARENT } from '../../packages/vmm/src/microvm/vm-jail.ts';
import { qemuProcesses, tapNames } from '../guest/helpers.ts';

export interface HostCounts {
  qemu: number;
  taps: string[];
  vmCgroups: string[];
  toolCgroups: string[];
  tmp: string[];
}

/** What a test may leave behind, counted (`marker`: its state directory, `tapPrefix`, `tmpPrefix`). */
export function hostCounts(marker: string, tapPrefix: string, tmpPrefixes: string[]): HostCounts {
  const groups = (parent: string) => {
    try {
      return detectCgroups(parent).list().sort();
    } catch {
      return [];
    }
  };
  return {
    qemu: qemuProcesses(marker).length,
    taps: tapNames(tapPrefix),
    vmCgroups: groups(VM_CGROUP_PARENT),
    toolCgroups: groups('aleph-tools'),
    tmp: readdirSync('/tmp').filter((e) => tmpPrefixes.some((p) => e.startsWith(p))).sort(),
  };
}

/** `Uid:` (real, effective, saved, fs) of a process. */
export function procUids(pid: number): number[] {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('Uid:')) ?? '';
  return line.split(/\s+/).slice(1).filter(Boolean).map(Number);
}

export function procRoot(pid: number): string {
  return readlinkSync(`/proc/${pid}/root`);
}

/** The cgroup path of `pid` for `controller` (v1) or the unified one (v2). */
export function procCgroup(pid: number, controller: string): string | undefined {
  const lines = readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n');
  for (const line of lines) {
    const [, controllers, path] = line.split(':');
    if (controllers?.split(',').includes(controller)) return path;
  }
  return lines.find((l) => l.startsWith('0::'))?.slice(3);
}

export interface Sighting {
  comm: string;
  uids: number[];
}

/**
 * Watches /proc in a worker thread (so the test's own event loop cannot make it miss a short
 * process) and records every process whose name is in `comms`, with its uids.
 */
export function watchProcesses(comms: string[]): { stop(): Promise<Sighting[]> } {
  const worker = new Worker(
    `
    const { readdirSync, readFileSync } = require('node:fs');
    const { parentPort, workerData } = require('node:worker_threads');
    const comms = new Set(workerData);
    const seen = new Map();
    let running = true;
    parentPort.on('message', () => { running = false; });
    const scan = () => {
      for (const entry of readdirSync('/proc')) {
        if (!/^\\d+$/.test(entry)) continue;
        try {
          const status = readFileSync('/proc/' + entry + '/status', 'utf8');
          const comm = /^Name:\\s*(.*)$/m.exec(status)?.[1];
          if (!comm || !comms.has(comm)) continue;
          const uids = (/^Uid:\\s*(.*)$/m.exec(status)?.[1] ?? '').split(/\\s+/).map(Number);
          seen.set(entry + ':' + uids.join(','), { comm, uids });
        } catch {}
      }
    };
    const loop = () => {
      scan();
      if (running) setImmediate(loop);
      else parentPort.postMessage([...seen.values()]);
    };
    loop();
    `,
    { eval: true, workerData: comms },
  );
  return {
    stop: () =>
      new Promise((resolve) => {
        worker.once('message', (sightings: Sighting[]) => {
          void worker.terminate();
          resolve(sightings);
        });
        worker.postMessage('stop');
      }),
  };
}
