/**
 * The isolation backend interface of the CRN supervisor.
 *
 * An Executor runs one workload per ExecutionSpec and hands back an ExecutionHandle. The
 * supervisor only ever talks to this interface: the `process` backend (Linux namespaces and a
 * cgroup, for development and fast tests) and the later QEMU/Firecracker `microvm` backend both
 * implement it and both must pass `runExecutorConformance` unchanged.
 *
 * What a backend receives is already prepared on the host: the code as a directory (or an image
 * for instances), the runtime as a file (a squashfs root filesystem for microVMs; the process
 * backend uses the host as its runtime and ignores it), volumes as host paths. What it must give
 * back is an HTTP endpoint (`host:port`) on which the workload's port 8080 answers, so that the
 * supervisor can forward requests without knowing how the workload is isolated.
 *
 * Workloads are detached from the supervisor process: a supervisor that dies (even `kill -9`)
 * leaves them running, and a new supervisor re-attaches with `adopt(record)`.
 */

import { checkEntrypoint, checkMountPoint, checkRelativePath } from '@aleph-nodes/protocol';

/** Lifecycle of one executor handle (the CRN's `ExecutionState` adds `preparing`). `stopped` and `failed` are final for that handle. */
export type HandleState = 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';

export const HANDLE_STATES: readonly HandleState[] = ['starting', 'running', 'stopping', 'stopped', 'failed'];

/** A read-only volume: bytes prepared on the host (a directory for `process`, an image for microVMs). */
export interface ImmutableVolumeSpec {
  kind: 'immutable';
  /** Host path of the prepared volume. */
  source: string;
  /** Absolute mount point inside the workload. */
  mount: string;
}

/** A fresh writable scratch area of `sizeMib`, discarded when the workload stops. */
export interface EphemeralVolumeSpec {
  kind: 'ephemeral';
  sizeMib: number;
  mount: string;
}

/** A writable host directory (or disk image) that survives restarts of the workload. */
export interface PersistentVolumeSpec {
  kind: 'persistent';
  source: string;
  sizeMib: number;
  mount: string;
}

export type VolumeSpec = ImmutableVolumeSpec | EphemeralVolumeSpec | PersistentVolumeSpec;

export interface ExecutionResources {
  vcpus: number;
  memoryMib: number;
}

/** A host port forwarded to a port of the guest (instances get 22/tcp at least). */
export interface PortForward {
  guestPort: number;
  hostPort: number;
  tcp: boolean;
  udp: boolean;
}

/**
 * What an INSTANCE boots instead of code on a runtime: a full operating system (systemd as PID 1)
 * from its own writable root disk. Only the microvm backend supports it; others refuse the spec
 * with ExecutorError('UNSUPPORTED').
 */
export interface InstanceBootSpec {
  /** Host path of the instance's root disk: a raw ext4 image, writable, kept across restarts. */
  rootDisk: string;
  /** OpenSSH public keys written to root's authorized_keys at every boot. */
  authorizedKeys: string[];
  /** The guest's host name (the base32 label of the item hash). */
  hostname: string;
  /** Host ports forwarded to the guest while it runs (DNAT rules removed on stop). */
  portForwards: PortForward[];
}

/** Where a workload sits on the host's VM network, for the execution lists of the API. */
export interface ExecutionNetwork {
  /** The guest's IPv4 subnet, e.g. `172.16.5.0/24`. */
  ipv4Network: string;
  /** The guest's own IPv4 address. */
  ipv4Ip: string;
  /** The host's external IPv4 address that forwarded ports answer on, when known. */
  hostIpv4: string | null;
  /** The guest's IPv6 /124 (`…::40/124`), when the node has an IPv6 range; else null. */
  ipv6Network?: string | null | undefined;
  /** The guest's own IPv6 address in it, or null. */
  ipv6Ip?: string | null | undefined;
  portForwards: PortForward[];
}

export interface ExecutionSpec {
  /** Unique among live executions of one executor; `[a-z0-9-]{1,64}`. */
  id: string;
  /**
   * Set for instances: the VM boots this disk and `code`/`runtime` are ignored. The handle is
   * ready when the guest's SSH port (22) accepts connections, and `endpoint` is that port.
   */
  instance?: InstanceBootSpec | undefined;
  /** The workload's code, prepared on the host. */
  code: {
    /** Directory holding the program's files (mounted read-only at `/opt/code`). */
    dir: string;
    /** Path of the executable inside `dir`. `.js`/`.mjs` run with Node.js; anything else is executed. */
    entrypoint: string;
    /**
     * A squashfs image of the code (a `squashfs` STORE), mounted as it is by backends with the
     * `squashfs` code format; `dir` is then not read.
     */
    image?: string | undefined;
    /**
     * What identifies the bytes of `dir` (its STORE file's hash and encoding): a backend may keep
     * what it derives from the code (the microVM's squashfs) under this key instead of redoing it.
     */
    contentKey?: string | undefined;
    /** `asgi`: `entrypoint` is a Python `module:app` the runtime serves (backends with the `asgi` capability). */
    interface?: 'asgi' | 'executable' | undefined;
  };
  /**
   * The runtime root filesystem (a squashfs file for microVMs). The process backend runs the
   * workload on the host's own userland and ignores it.
   */
  runtime?: { path: string } | undefined;
  volumes: VolumeSpec[];
  /** Exported into the workload's environment, nothing else from the host leaks in. */
  variables: Record<string, string>;
  resources: ExecutionResources;
  /** Outbound network access. Without it the workload only answers the supervisor. */
  internet: boolean;
}

export interface Endpoint {
  host: string;
  port: number;
}

export interface LogLine {
  stream: 'stdout' | 'stderr';
  /** Unix milliseconds when the supervisor read the line. */
  time: number;
  text: string;
}

export interface ExitInfo {
  /** Exit status when known (not known for a re-adopted workload). */
  code: number | null;
  signal: string | null;
  /** True when the exit was requested with stop(). */
  requested: boolean;
  /** Peak memory use of the workload in MiB, when the backend can tell. */
  memoryPeakMib?: number | undefined;
}

/**
 * Everything a new supervisor needs to re-attach to a running workload after a restart. It is
 * backend-specific and opaque to the supervisor, which stores it as JSON.
 */
export interface AdoptionRecord {
  backend: string;
  id: string;
  data: Record<string, unknown>;
}

export interface ExecutionHandle {
  readonly id: string;
  readonly spec: ExecutionSpec;
  readonly state: HandleState;
  /** Where the workload's port 8080 answers, reachable from the supervisor. */
  readonly endpoint: Endpoint;
  /** The guest's addresses and forwarded ports, for backends with a VM network. */
  readonly network?: ExecutionNetwork | undefined;
  /** Resolves once, when the workload has ended (crash, stop or external kill). */
  readonly exited: Promise<ExitInfo>;
  /**
   * Resolves when the workload accepts connections on its port; rejects when it exits first or
   * the timeout passes (the workload is then left as it is: call stop()).
   */
  waitReady(timeoutMs: number): Promise<void>;
  /** The last `limit` log lines (both streams, in order). */
  recentLogs(limit?: number): LogLine[];
  /** Live log lines; returns the unsubscribe function. */
  subscribeLogs(listener: (line: LogLine) => void): () => void;
  /** Graceful stop, then a hard kill after `timeoutMs`; releases every host resource. Idempotent. */
  stop(timeoutMs?: number): Promise<void>;
  /** Forgets the workload without stopping it (supervisor shutdown keeps persistent workloads). */
  detach(): void;
  /** What `Executor.adopt` needs after a supervisor restart. */
  adoptionRecord(): AdoptionRecord;
}

export interface ExecutorCapacity {
  vcpus: number;
  memoryMib: number;
}

/**
 * What a backend really does to contain a workload, as reported to operators and clients
 * (`/status/config`, `crn doctor`). Each field is true only when the backend enforces it for
 * every workload it starts, never as an intention.
 */
export interface ExecutorIsolation {
  /** The workload (or its VMM) runs as its own unprivileged host uid, confined to its own files. */
  jailed: boolean;
  /** A guest kernel stands between the workload and the host kernel. */
  virtualized: boolean;
  /** A seccomp filter narrows the system calls of the workload (or of its VMM). */
  seccomp: boolean;
  /** Per-workload cgroup limits (memory, CPU, pids). */
  cgroups: boolean;
  /** Outbound traffic of workloads with `internet` is limited to public unicast addresses. */
  egressFiltered: boolean;
}

/**
 * What a backend can run, declared once so that the CRN asks the backend instead of checking its
 * name (Hono's adapters, aleph-vm's `support_snapshot`).
 */
export interface ExecutorCapabilities {
  /** Boots INSTANCE messages: a whole root disk with its own userland, SSH and port forwards. */
  instances: boolean;
  /** Runs a program inside the runtime image its message names (a squashfs root filesystem); without it, programs run on the host's own interpreter. */
  runtimeImages: boolean;
  /** Code encodings it runs: `zip` and `plain` are unpacked by the CRN; `squashfs` is a STORE image handed over as it is. */
  codeFormats: readonly CodeFormat[];
  /** What an immutable volume may be: a `zip` (unpacked by the CRN), a `squashfs` or `ext4` STORE image (mounted read-only as it is). */
  volumeFormats: readonly VolumeFormat[];
  /** Programs may name a Python ASGI application (`main:app`) as entrypoint; the runtime serves it. */
  asgi: boolean;
  /** Workloads get an IPv6 address of the node's range (ExecutionNetwork.ipv6Ip). */
  ipv6: boolean;
}

export type CodeFormat = 'zip' | 'plain' | 'squashfs';
export type VolumeFormat = 'zip' | 'squashfs' | 'ext4';

export interface Executor {
  readonly name: string;
  /** What this backend can run (see ExecutorCapabilities). */
  readonly capabilities: ExecutorCapabilities;
  /** What this backend enforces for every workload (see ExecutorIsolation). */
  readonly isolation: ExecutorIsolation;
  /** Host capacity this backend can hand out (before the supervisor's reserves). */
  capacity(): ExecutorCapacity;
  /** Launches the workload; the handle starts in `starting`. Cleans up after itself on failure. */
  start(spec: ExecutionSpec): Promise<ExecutionHandle>;
  /** Re-attaches to a workload from a previous supervisor; undefined when it is gone (and cleaned up). */
  adopt(record: AdoptionRecord, spec: ExecutionSpec): Promise<ExecutionHandle | undefined>;
  /** Removes host resources of this executor that belong to no id in `liveIds` (after a crash). */
  cleanupOrphans(liveIds: ReadonlySet<string>): Promise<void>;
  /** Detaches from all workloads (does not stop them) and releases timers. */
  close(): Promise<void>;
}

export class ExecutorError extends Error {
  override readonly name = 'ExecutorError';
  constructor(
    readonly code: 'INVALID_SPEC' | 'START_FAILED' | 'NOT_READY' | 'EXITED' | 'UNSUPPORTED',
    message: string,
    readonly logs: LogLine[] = [],
  ) {
    super(message);
  }
}

const ID_RE = /^[a-z0-9-]{1,64}$/;
const VAR_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Checks what every backend relies on; throws ExecutorError('INVALID_SPEC'). */
export function validateSpec(spec: ExecutionSpec): void {
  if (!ID_RE.test(spec.id)) throw new ExecutorError('INVALID_SPEC', 'execution id must match [a-z0-9-]{1,64}');
  // The one path validator of the project (packages/protocol): a relative, normalized entrypoint;
  // mount points below the allowed prefixes only (never /usr/bin, /etc, /proc…), whatever the backend.
  // A Python ASGI reference (`main:app`) is the other form a microVM runtime accepts.
  const entry = checkRelativePath(spec.code.entrypoint, 'entrypoint');
  if (!entry.ok && !checkEntrypoint(spec.code.entrypoint, true).ok) throw new ExecutorError('INVALID_SPEC', entry.reason);
  for (const [name, value] of Object.entries(spec.variables)) {
    if (!VAR_NAME_RE.test(name)) throw new ExecutorError('INVALID_SPEC', `variable name ${JSON.stringify(name.slice(0, 64))} is not a valid environment name`);
    // No environment can hold a NUL byte; a backend would cut the value or fail somewhere deeper.
    if (typeof value !== 'string' || value.includes('\0')) throw new ExecutorError('INVALID_SPEC', `variable ${name} must be a string without NUL bytes`);
  }
  for (const v of spec.volumes) {
    const mount = checkMountPoint(v.mount, 'volume mount');
    if (!mount.ok) throw new ExecutorError('INVALID_SPEC', mount.reason);
  }
  if (!(spec.resources.vcpus >= 1) || !(spec.resources.memoryMib >= 16)) {
    throw new ExecutorError('INVALID_SPEC', 'resources need at least 1 vCPU and 16 MiB of memory');
  }
}
