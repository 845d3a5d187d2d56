/**
 * `/about/usage/system` as aleph-vm 1.14 serves it (`orchestrator/resources.py` `MachineUsage`):
 * every field present, `cpu.core_frequencies` included (the Python SDK's `SystemUsage` requires
 * it; aleph-vm reads psutil's `cpu_freq()`, which some virtual machines do not report: then
 * /proc/cpuinfo, else 0 rather than a missing field).
 */
import { readFileSync } from 'node:fs';
import { arch, cpus, freemem, loadavg, totalmem } from 'node:os';
import type { SystemUsageAnswer } from '@aleph-nodes/protocol';
import type { ResourceAmounts } from '../../execution/admission.ts';

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** psutil's `cpu_freq()` min/max in MHz: cpufreq's limits, else the current speeds, else 0. */
export function coreFrequencies(): { min: number; max: number } {
  const khz = (name: string): number => Number(readText(`/sys/devices/system/cpu/cpu0/cpufreq/${name}`)?.trim() ?? NaN);
  const [lo, hi] = [khz('cpuinfo_min_freq'), khz('cpuinfo_max_freq')];
  if (Number.isFinite(lo) && Number.isFinite(hi) && lo > 0 && hi > 0) return { min: lo / 1000, max: hi / 1000 };
  let speeds = cpus().map((c) => c.speed).filter((s) => Number.isFinite(s) && s > 0);
  if (speeds.length === 0) {
    speeds = [...(readText('/proc/cpuinfo') ?? '').matchAll(/^cpu MHz\s*:\s*([\d.]+)/gm)].map((m) => Number(m[1])).filter((s) => s > 0);
  }
  // psutil falls back to the current frequency for a missing min or max.
  return speeds.length > 0 ? { min: Math.min(...speeds), max: Math.max(...speeds) } : { min: 0, max: 0 };
}

/** `GenuineIntel`, `AuthenticAMD`, … from /proc/cpuinfo (aleph-vm: lshw's vendor). */
function cpuVendor(): string {
  const vendor = /^vendor_id\s*:\s*(\S+)/m.exec(readText('/proc/cpuinfo') ?? '')?.[1];
  if (vendor) return vendor;
  return cpus()[0]?.model.includes('AMD') ? 'AuthenticAMD' : 'GenuineIntel';
}

export interface UsageInput {
  committed: ResourceAmounts;
  /** Memory the node offers to workloads. */
  memoryMib: number;
  /** The data dir's disk; `availableMib` already net of reservations (may be negative). */
  disk: { totalMib: number; availableMib: number };
}

export function systemUsage(input: UsageInput): SystemUsageAnswer {
  const [load1, load5, load15] = loadavg() as [number, number, number];
  const freeMemKb = Math.floor(freemem() / 1024);
  const unreservedMemKb = Math.max(0, Math.floor((input.memoryMib - input.committed.memoryMib) * 1024));
  const start = new Date(Math.floor(Date.now() / 60_000) * 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return {
    cpu: { count: Math.max(1, cpus().length), load_average: { load1, load5, load15 }, core_frequencies: coreFrequencies() },
    mem: { total_kB: Math.max(1, Math.floor(totalmem() / 1024)), available_kB: Math.min(freeMemKb, unreservedMemKb) },
    disk: { total_kB: Math.max(1, Math.floor(input.disk.totalMib * 1024)), available_kB: Math.max(0, Math.floor(input.disk.availableMib * 1024)) },
    period: { start_timestamp: start, duration_seconds: 60 },
    // No confidential computing: no `sev*` feature is advertised (aleph-vm lists those it finds).
    properties: { cpu: { architecture: arch() === 'x64' ? 'x86_64' : arch() === 'arm64' ? 'aarch64' : arch(), vendor: cpuVendor(), features: [] } },
    gpu: { devices: [], available_devices: [] },
    active: true,
  };
}
