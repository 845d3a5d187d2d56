/**
 * CRN settings: defaults < JSON file (`CRN_CONFIG`) < environment (`CRN_*`) < flags.
 * Every setting has a default where one makes sense and a description
 * (`describeConfig(CrnConfigSchema, 'CRN')`).
 */
import { z } from 'zod';
import { DEFAULT_DNS_SERVERS, DEFAULT_TCG_TB_MIB, parseIpv6Range } from '@aleph-nodes/vmm';
import { loadConfig, type LoadConfigOptions } from '@aleph-nodes/service';

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'must be an 0x Ethereum address');

/** The scheduler key aleph-vm trusts when no signer is configured (crn-api.md §2.1). */
export const DEFAULT_ALLOCATION_SIGNER = '0x2937f62e5F81A88e921f883f8fE56ceCf4A4A44A';

export const CrnConfigSchema = z.object({
  host: z.string().default('127.0.0.1').describe('Address the HTTP API listens on'),
  port: z.number().int().min(0).max(65_535).default(4020).describe('HTTP API port (0 = any free port)'),
  dataDir: z.string().min(1).describe('Directory for the database, the download cache, volumes and the node key (required)'),
  ccn: z
    .preprocess(
      // CRN_CCN="http://a:4024,http://b:4024" (the environment carries one string).
      (v) => (typeof v === 'string' && v.includes(',') ? v.split(',').map((u) => u.trim()).filter(Boolean) : v),
      z.union([z.string().url(), z.array(z.string().url()).min(1).max(16)]),
    )
    .describe('Base URL of the CCN this node reads messages and files from (required), e.g. http://127.0.0.1:4024; or a list of CCN URLs (JSON list, or comma-separated in CRN_CCN), the first preferred: the node falls over to the next when one cannot be reached'),
  executor: z.enum(['process', 'microvm']).default('microvm').describe('Isolation backend: "microvm" (QEMU microvm, KVM or TCG; the production default) or "process" (namespaces + cgroup, for development and fast tests)'),
  imagesDir: z.string().default('').describe('microvm: guest images directory (kernel, initramfs, default runtime); empty = $ALEPH_IMAGES_DIR or <repo>/.images'),
  accelerator: z.enum(['auto', 'kvm', 'tcg']).default('auto').describe('microvm: "auto" boots a probe guest under KVM at start and falls back to software emulation (TCG)'),
  kvmCpu: z.string().default('host').describe('microvm: QEMU CPU model under KVM'),
  tcgTbMib: z.number().int().min(8).max(4096).default(DEFAULT_TCG_TB_MIB).describe("microvm under TCG (software emulation) only: each VM's translated-code cache in MiB (QEMU's own default is 1 GiB and stays resident); smaller saves memory per VM, at the cost of re-translating guest code when it fills"),
  enableKsm: z.boolean().default(false).describe('microvm: turn on the kernel\'s samepage merging (/sys/kernel/mm/ksm/run = 1) at start, so identical pages of VMs (same kernel and runtime) are shared. Host-wide and a host policy (ksmd CPU, a copy-on-write timing channel between VMs of different tenants): off by default; the node never turns it off'),
  keyFile: z.string().default('').describe('Node private key file (created if missing); empty = <dataDir>/node.key'),
  domain: z.string().default('127.0.0.1').describe('DOMAIN_NAME: the public hostname of this node; programs are also served at <base32 hash>.<domain>'),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('pino log level'),
  serverName: z.string().default('aleph-vm').describe('Product name in the Server header (`<name>/<version>`); monitors expect aleph-vm'),
  serverVersion: z.string().default('1.14.0').describe('Version in the Server header and /status/config (semver)'),
  checkFastapiVmId: z
    .string()
    .regex(/^[0-9a-f]{64}$/, 'must be an item hash (64 lowercase hex digits)')
    .default('d2b74aa29898457bde0560e47f7cdd4e77287e9f1f7a1456161d2fd7d5c855d7')
    .describe("CHECK_FASTAPI_VM_ID: item hash of the PROGRAM running aleph's diagnostic program (examples/example_fastapi), called by /status/check/fastapi; default: the one of aleph's public network (a private network sets the one it published)"),
  legacyCheckFastapiVmId: z
    .string()
    .regex(/^[0-9a-f]{64}$/, 'must be an item hash (64 lowercase hex digits)')
    .default('ad67c6857d6319486794ec2a3d14b584ac7e6c27593f3172148e486dbd1e0e21')
    .describe("LEGACY_CHECK_FASTAPI_VM_ID: the diagnostic program on aleph's older runtime, called by /status/check/fastapi/legacy without its newer checks"),
  authorizedAllocationSigners: z
    .array(address)
    .default([])
    .describe('Addresses allowed to sign POST /control/allocations; set = an override of the registry. Empty = the owner and manager of the CCN the registry links this node to (read from the CCNs, refreshed every allocationSignersRefreshSeconds); while unlinked, the network settings aggregate or the reference scheduler key'),
  stopWorkloadsOnExit: z
    .boolean()
    .default(false)
    .describe('Stop persistent programs and instances when the node stops (a development network); off in production, where a restart re-adopts them'),
  idleTimeoutSeconds: z.number().min(0).default(3600).describe('REUSE_TIMEOUT: an on-demand program stops this long after its last request (0 = after each request)'),
  startTimeoutSeconds: z.number().min(1).default(30).describe('How long a starting program may take to listen on port 8080'),
  stopTimeoutSeconds: z.number().min(0).default(5).describe('Grace period between the stop signal and a hard kill'),
  capacityVcpus: z.number().int().min(0).default(0).describe('vCPUs to hand out; 0 = the host count'),
  capacityMemoryMib: z.number().int().min(0).default(0).describe('Memory (MiB) to hand out; 0 = the host total'),
  reservedMemoryMib: z.number().int().min(0).default(1024).describe('Memory (MiB) kept for the host, never given to executions'),
  reservedVcpus: z.number().int().min(0).default(0).describe('vCPUs kept for the host'),
  vcpuOvercommit: z.number().min(1).default(1).describe('How many vCPUs may be promised per host vCPU (aleph-vm uses 4)'),
  reservedDiskMib: z.number().int().min(0).default(1024).describe('Disk (MiB) kept free on the data dir volume'),
  cacheMaxMib: z.number().int().min(1).default(4096).describe('Size cap of the download cache (code, runtimes, volumes), LRU-evicted'),
  maxDownloadMib: z.number().int().min(1).default(1024).describe('Largest single file the node downloads'),
  zipMaxEntries: z.number().int().min(1).default(10_000).describe('Zip bomb guard: most entries in a code archive'),
  zipMaxMib: z.number().int().min(1).default(512).describe('Zip bomb guard: most uncompressed bytes (MiB) of a code archive'),
  messageWatch: z.boolean().default(true).describe('Follow the CCN message websocket (FORGET/amend stop executions, on.message triggers)'),
  // ---- messages heard from the CCN and on-demand admission (trust boundaries) ----
  messageCacheMib: z.number().int().min(1).default(64).describe('Memory (MiB) the verified message cache may take (bounded in bytes; the oldest messages go first)'),
  messageStatusCacheSeconds: z.number().min(0).default(30).describe('How long a message status read from the CCN is reused before an on-demand start checks it again (the reference caches 30 s)'),
  unpaidIdleTimeoutSeconds: z
    .number()
    .min(0)
    .default(120)
    .describe('Idle timeout of on-demand programs nobody pays for (today: all but the diagnostic programs); the shorter of this and idleTimeoutSeconds applies'),
  ownerOnDemandVcpusShare: z
    .number()
    .gt(0)
    .max(1)
    .default(0.25)
    .describe("Share of the node's vCPUs the unpaid on-demand programs of one owner may reserve at once (scheduler-placed executions are not counted)"),
  ownerOnDemandMemoryShare: z.number().gt(0).max(1).default(0.25).describe("Share of the node's memory the unpaid on-demand programs of one owner may reserve at once"),
  ownerOnDemandMaxExecutions: z.number().int().min(1).default(8).describe('Most unpaid on-demand programs of one owner running at once on this node'),
  diagnosticPrograms: z
    .array(z.string().regex(/^[0-9a-f]{64}$/, 'must be an item hash'))
    .default([
      'd2b74aa29898457bde0560e47f7cdd4e77287e9f1f7a1456161d2fd7d5c855d7',
      'ad67c6857d6319486794ec2a3d14b584ac7e6c27593f3172148e486dbd1e0e21',
      '67705389842a0a1b95eaa408b009741027964edc805997475e95c505d642edd8',
    ])
    .describe('Program hashes the network monitor calls (crn-api.md §5): exempt from the per-owner caps and the unpaid idle timeout'),
  statusPollSeconds: z.number().min(0).default(60).describe('How often live executions\' message status is checked (0 = never) when enforcePayments is off (with it on, the payment monitor does this every paymentMonitorIntervalSeconds); 3 terminal answers stop one'),
  restartBackoffMaxSeconds: z.number().min(1).default(30).describe('Longest wait before restarting a crashed persistent program'),
  nodeHash: z.string().default('').describe('This node\'s hash in the registry (shown in /status/config; checked by notify)'),
  paymentReceiverAddress: z
    .union([z.literal(''), address])
    .default('')
    .describe('PAYMENT_RECEIVER_ADDRESS: the address pay-as-you-go flows to this node must go to (its reward address); empty = the node key\'s address. Shown in /status/config'),
  // ---- payments: the gate before every start and the monitor loop ----
  enforcePayments: z
    .boolean()
    .default(true)
    .describe('Check payment (message status, hold balance, credits, pay-as-you-go flow) with the CCN before every start (402 when unpaid) and stop workloads whose payment lapsed; off = nothing checked and every on-demand program counts as unpaid for the per-owner caps'),
  paymentMonitorIntervalSeconds: z
    .number()
    .min(0)
    .default(60)
    .describe('PAYMENT_MONITOR_INTERVAL: how often the payment of every live execution is checked with the CCN (0 = never); with enforcePayments this pass also does the message status poll (statusPollSeconds is then unused)'),
  paymentConfirmations: z
    .number()
    .int()
    .min(1)
    .default(3)
    .describe('Consecutive monitor passes that must find an execution unpaid (or its message removed, forgotten, rejected) before it is stopped; a CCN that does not answer counts as nothing'),
  paymentPriceCacheSeconds: z.number().min(0).default(300).describe('How long the price of a message (GET /api/v0/price/{hash}) is reused (aleph-vm: 300 s)'),
  paymentAccountCacheSeconds: z
    .number()
    .min(0)
    .default(10)
    .describe("How long a start reuses an owner's balance and flows read from the CCN (the monitor reads them afresh each pass), and how long a 402 is answered again without asking the CCN; bounds the CCN reads that requests for unpaid programs cause"),
  portForwardStart: z.number().int().min(1024).max(65_535).default(24_000).describe('Instances: first host port handed out for port forwards (22/tcp and the owner\'s port-forwarding aggregate)'),
  portForwardEnd: z.number().int().min(1024).max(65_535).default(65_535).describe('Instances: last host port handed out for port forwards'),
  instanceStartTimeoutSeconds: z.number().min(1).default(300).describe('How long a starting instance may take until its SSH port (22) accepts connections'),
  instanceStopTimeoutSeconds: z.number().min(0).default(60).describe('Grace period for an instance to power off after the ACPI power button (its OS flushes its disk) before a hard kill'),
  maxImageMib: z.number().int().min(1).default(4096).describe('Largest instance root filesystem image (rootfs.parent) the node downloads; the download cache must be at least as large'),
  workloadPoolBase: z.string().default('10.213.0.0').describe('First address of the /16 from which workloads get a /30 (process executor)'),
  ipv6Range: z
    .string()
    .default('')
    .refine((v) => {
      if (v === '') return true;
      try {
        parseIpv6Range(v);
        return true;
      } catch {
        return false;
      }
    }, 'an IPv6 range in CIDR notation of at most /122, e.g. 2a01:4f8:10:20::/64')
    .describe("IPv6 range routed to this host (aleph-vm's IPV6_ADDRESS_POOL), e.g. its /64: each microVM gets a /124 of it (the n-th for VM number n), the host side of its tap the gateway, and with internet access its IPv6 traffic is routed (not translated) to public unicast destinations. Empty (default): VMs have IPv4 only. The range must be routed to this host (or its neighbour discovery proxied, e.g. ndppd)"),
  codeCacheMib: z
    .number()
    .int()
    .min(0)
    .default(2048)
    .describe('microVM executor: disk the squashfs images of program code may take, kept by code hash so a program is not repacked at each start (least recently used removed first); 0 packs the code at every start'),
  warmPoolSize: z
    .number()
    .int()
    .min(0)
    .max(64)
    .default(0)
    .describe('microVM executor: VMs per pool runtime kept booted with the guest agent waiting for code, so a never-seen program starts without a boot (each serves one program, then is destroyed; refilled in the background). Their memory is taken from the capacity. 0 (default): no pool'),
  warmPoolRuntimes: z
    .array(z.enum(['node', 'python']))
    .default(['node'])
    .describe('microVM executor: the built runtimes that get a warm pool; a program takes a pool VM when its runtime has the same bytes as the pool\'s. Each pool VM starts its language while it waits (node: Node.js; python: Python with the ASGI server and FastAPI imported) and the program is imported into it'),
  warmPoolMemoryMib: z.number().int().min(64).default(128).describe('microVM executor: memory of a pool VM; only programs asking exactly this much take one'),
  warmPoolVcpus: z.number().int().min(1).default(1).describe('microVM executor: vCPUs of a pool VM; only programs asking exactly this many take one'),
  dnsServers: z
    .array(z.string().regex(/^(\d{1,3}\.){3}\d{1,3}$|^[0-9a-fA-F:]+$/, 'an IPv4 or IPv6 address'))
    .min(1)
    .default([...DEFAULT_DNS_SERVERS])
    .describe('Resolvers given to workloads with internet access; they must be public addresses, since workload egress to private ranges is dropped'),

  // ---- Control traffic and the operator surface (signed pushes, owner operations, cookie, log streams) ----
  allowUnboundAllocationPushes: z
    .boolean()
    .default(false)
    .describe('Accept POST /control/allocations signed with the reference payload that names no target node (what aleph\'s own scheduler sends). Off: a push must name this node (its nodeHash, or when that is unknown its URL\'s host = domain), so a push cannot be replayed to another CRN'),
  maxOwnerOperations: z
    .number()
    .int()
    .min(100)
    .default(100_000)
    .describe('Owner operations (X-SignedOperation) remembered as used, each for its ±120 s window, on disk; when this many are held, new operations get 503 until some expire'),
  programPathSandbox: z
    .boolean()
    .default(true)
    .describe('Answer programs on the path form /vm/{ref}/… (the node\'s own origin) with `Content-Security-Policy: sandbox` without allow-same-origin: their pages run in an opaque origin and cannot read operator pages; such pages have no cookies or localStorage and their fetches to their own paths are cross-origin. The host form <base32 hash>.<domain> is not affected'),
  streamLogsMaxPerExecution: z.number().int().min(1).default(4).describe('Live log websockets (stream_logs) at once for one execution, counted once authenticated'),
  streamLogsMaxPerIp: z.number().int().min(1).default(8).describe('Live log websockets at once from one client address, authenticated or not'),
  streamLogsMaxTotal: z.number().int().min(1).default(256).describe('Live log websockets at once on this node'),
  trustProxy: z
    .array(z.string())
    .default(['loopback'])
    .describe('Reverse proxies whose X-Forwarded-For names the client (for per-address limits): addresses, CIDRs, or "loopback"; empty = the TCP peer is the client'),

  // ---- CCN list and allocation signers (CRNs outlive their CCN) ----
  ccnFailbackSeconds: z
    .number()
    .min(1)
    .default(60)
    .describe('After falling over to another CCN of the `ccn` list, how long before the first one is tried first again'),
  allocationSignersRefreshSeconds: z
    .number()
    .min(1)
    .default(60)
    .describe('How often the allocation signers are re-read from the registry (the owner and manager of the CCN this node is linked to), so that a re-link switches them; authorizedAllocationSigners, when set, overrides the registry'),
});
export type CrnConfig = z.infer<typeof CrnConfigSchema>;

/** The CCN URLs of the `ccn` setting, in order of preference, without trailing slashes. */
export function ccnUrls(config: Pick<CrnConfig, 'ccn'>): string[] {
  const list = typeof config.ccn === 'string' ? [config.ccn] : config.ccn;
  return [...new Set(list.map((u) => u.replace(/\/+$/, '')))];
}

export function loadCrnConfig(opts: Omit<LoadConfigOptions, 'envPrefix'> = {}): CrnConfig {
  return loadConfig(CrnConfigSchema, { ...opts, envPrefix: 'CRN' });
}

/** `diagnosticPrograms` and the programs of the fastapi checks: what the network's monitors call. */
export function diagnosticProgramSet(config: Pick<CrnConfig, 'diagnosticPrograms' | 'checkFastapiVmId' | 'legacyCheckFastapiVmId'>): Set<string> {
  return new Set([...config.diagnosticPrograms, config.checkFastapiVmId, config.legacyCheckFastapiVmId]);
}
