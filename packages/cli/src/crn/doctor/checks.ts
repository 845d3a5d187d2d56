/**
 * The operator requirements of a CRN, checked against host facts. Pure, so the thresholds are
 * unit-tested: bare metal, x86_64, 8 cores/16 threads at 3.0 GHz or 12 cores/24 threads at
 * 2.4 GHz, 64 GB of memory, 1 TB of NVMe storage, IPv4 and IPv6, and the kernel features and
 * packages the executors use.
 */
import type { HostFacts } from './facts.ts';
import type { SandboxFacts } from './sandbox.ts';

export type CheckStatus = 'pass' | 'fail';

export interface Check {
  id: string;
  title: string;
  status: CheckStatus;
  value: string;
  requirement: string;
  /** What the operator does about a failure. */
  remedy?: string;
}

export interface KvmProbeResult {
  /** True when a guest really booted with KVM. */
  usable: boolean;
  detail: string;
}

export const CPU_PROFILES = [
  { cores: 8, threads: 16, mhz: 3000 },
  { cores: 12, threads: 24, mhz: 2400 },
] as const;
export const MIN_MEMORY_BYTES = 64e9;
export const MIN_STORAGE_BYTES = 1e12;

const gb = (bytes: number): string => `${(bytes / 1e9).toFixed(1)} GB`;
const check = (id: string, title: string, ok: boolean, value: string, requirement: string, remedy?: string): Check => ({
  id,
  title,
  status: ok ? 'pass' : 'fail',
  value,
  requirement,
  ...(ok || !remedy ? {} : { remedy }),
});

/**
 * Why an IPv4 address cannot be the node's public address, or null. The documentation ranges
 * (RFC 5737) appear in copied examples and configs but are never routed; link-local and
 * "this network" addresses are not reachable either.
 */
export function unusableIpv4(address: string): string | null {
  const parts = address.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return 'not an IPv4 address';
  const [a, b, c] = parts as [number, number, number, number];
  if ((a === 192 && b === 0 && c === 2) || (a === 198 && b === 51 && c === 100) || (a === 203 && b === 0 && c === 113)) return 'documentation range';
  if (a === 169 && b === 254) return 'link-local';
  if (a === 0) return '"this network"';
  return null;
}

export function cpuMeetsProfile(cpu: HostFacts['cpu']): boolean {
  return CPU_PROFILES.some((p) => cpu.cores >= p.cores && cpu.threads >= p.threads && cpu.maxMhz !== null && cpu.maxMhz >= p.mhz);
}

export function evaluate(facts: HostFacts, kvm: KvmProbeResult): Check[] {
  const { cpu, storage, network, kernel } = facts;
  const checks: Check[] = [
    check('bare-metal', 'Bare metal', !facts.virtualization.virtual, facts.virtualization.virtual ? `virtual machine (${facts.virtualization.kind ?? 'unknown'})` : 'bare metal', 'not a virtual machine'),
    check('kvm', 'KVM boots a guest', kvm.usable, kvm.detail, facts.virtualization.virtual ? 'nested virtualization usable' : 'hardware virtualization usable'),
    check('arch', 'Architecture', facts.arch === 'x86_64', facts.arch, 'x86_64'),
    check(
      'cpu',
      'CPU',
      cpuMeetsProfile(cpu),
      `${cpu.cores} cores / ${cpu.threads} threads @ ${cpu.maxMhz === null ? 'unknown' : `${(cpu.maxMhz / 1000).toFixed(1)} GHz`} (${cpu.model})`,
      '8c/16t at 3.0 GHz+ or 12c/24t at 2.4 GHz+',
    ),
    check('memory', 'Memory', facts.memoryBytes >= MIN_MEMORY_BYTES, gb(facts.memoryBytes), '64 GB'),
    check('storage', 'Storage', storage.totalBytes >= MIN_STORAGE_BYTES, `${gb(storage.totalBytes)} at ${storage.path}`, '1 TB'),
    check('nvme', 'NVMe storage', storage.nvme === true, storage.device === null ? 'unknown device' : `${storage.device}${storage.rotational ? ' (rotational)' : ''}`, 'NVMe'),
    check(
      'ipv4',
      'IPv4',
      network.ipv4.some((a) => unusableIpv4(a) === null),
      network.ipv4.map((a) => (unusableIpv4(a) ? `${a} (${unusableIpv4(a)})` : a)).join(', ') || 'none',
      'a routable IPv4 address',
      'configure the address the provider assigned (documentation addresses 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24 are examples, never routed)',
    ),
    check('ipv6', 'IPv6', network.ipv6.length > 0, network.ipv6.join(', ') || 'no global IPv6 address', 'a global IPv6 address'),
    check('tun', 'TUN/TAP', kernel.tun, kernel.tun ? '/dev/net/tun' : 'missing', '/dev/net/tun'),
    ...(facts.sandbox ? sandboxChecks(facts.sandbox) : [
      check('cgroups', 'cgroups', kernel.cgroups !== null, kernel.cgroups ?? 'none', 'cgroup v2 (or v1 memory, cpu, pids)'),
      check('nftables', 'nftables', kernel.nftables, kernel.nftables ? 'available' : 'missing', 'nf_tables'),
    ]),
  ];
  for (const [command, present] of Object.entries(facts.commands)) {
    checks.push(check(`command:${command}`, `Command ${command}`, present, present ? 'installed' : 'missing', 'installed'));
  }
  return checks;
}

/** What the workload sandbox needs: each check says how to fix a failure. */
export function sandboxChecks(sandbox: SandboxFacts): Check[] {
  const { cgroups, userns, nft } = sandbox;
  const cgroupValue = cgroups.version === null ? 'none' : `${cgroups.version}${cgroups.missing.length > 0 ? `, missing ${cgroups.missing.join(', ')}` : ', memory cpu pids'}`;
  return [
    check('bubblewrap', 'Bubblewrap', sandbox.bwrap !== null, sandbox.bwrap ?? 'missing', 'bwrap installed', 'apt-get install bubblewrap'),
    check(
      'userns',
      'User namespaces',
      userns.usable,
      userns.detail,
      'an unprivileged uid can start a bwrap jail',
      'sysctl -w kernel.unprivileged_userns_clone=1 and user.max_user_namespaces=15000 (persist in /etc/sysctl.d); where AppArmor restricts them (kernel.apparmor_restrict_unprivileged_userns=1), allow bwrap with an AppArmor profile',
    ),
    check(
      'cgroups',
      'cgroups',
      cgroups.version !== null && cgroups.missing.length === 0,
      cgroupValue,
      'cgroup v2 (or v1) with memory, cpu and pids',
      cgroups.version === 'v2'
        ? 'enable the controllers: echo "+memory +cpu +pids" > /sys/fs/cgroup/cgroup.subtree_control (or boot with systemd.unified_cgroup_hierarchy=1 and cgroup_enable=memory)'
        : 'boot with systemd.unified_cgroup_hierarchy=1 (cgroup v2), or mount the v1 memory, cpu and pids hierarchies',
    ),
    check('nftables', 'nftables', nft.usable, nft.detail, 'nft can create and delete a table', nft.path ? 'load the nf_tables kernel module (modprobe nf_tables) and run as root' : 'apt-get install nftables'),
  ];
}
