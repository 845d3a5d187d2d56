/**
 * The seccomp filter of jailed workloads: a deny-list, compiled here to classic BPF and handed to
 * bubblewrap (`--seccomp FD`), which loads it right before executing the workload (after
 * no_new_privs). It removes the kernel interfaces a web workload never needs and that carry most
 * container-escape and kernel-exploit history: mounting and namespace creation (the jail's user
 * namespace would otherwise let the workload build new mount/user namespaces of its own), module
 * loading, kexec, BPF, perf, userfaultfd, keyrings, handle-based opens, ptrace, io_uring.
 *
 * An allow-list would be tighter but breaks arbitrary runtimes in ways we cannot test for every
 * tenant; the deny-list keeps Node.js (threads, worker_threads, child_process) and ordinary
 * binaries working. Only x86_64 has a table here: on other architectures the jail runs without a
 * filter and the executor reports `seccomp: false`.
 *
 * Return values: EPERM for the denied calls (programs treat it as "not allowed here"), ENOSYS for
 * clone3 and io_uring (libc and libuv then fall back to clone and to the thread pool: clone3's
 * flags live in memory that a filter cannot inspect, so it cannot be allowed selectively).
 */
import { arch } from 'node:os';
import { assemble, encode, type BpfOp, type SockFilter } from './bpf.ts';

export const AUDIT_ARCH_X86_64 = 0xc000003e;
/** x32 system calls on x86_64 carry this bit in their number. */
export const X32_SYSCALL_BIT = 0x40000000;

export const SECCOMP_RET_ALLOW = 0x7fff0000;
export const SECCOMP_RET_ERRNO = 0x00050000;
export const EPERM = 1;
export const ENOSYS = 38;

/** x86_64 numbers (arch/x86/entry/syscalls/syscall_64.tbl). */
export const X86_64_SYSCALLS = {
  clone: 56,
  ptrace: 101,
  syslog: 103,
  uselib: 134,
  ustat: 136,
  sysfs: 139,
  vhangup: 153,
  pivot_root: 155,
  _sysctl: 156,
  adjtimex: 159,
  chroot: 161,
  acct: 163,
  settimeofday: 164,
  mount: 165,
  umount2: 166,
  swapon: 167,
  swapoff: 168,
  reboot: 169,
  sethostname: 170,
  setdomainname: 171,
  iopl: 172,
  ioperm: 173,
  create_module: 174,
  init_module: 175,
  delete_module: 176,
  get_kernel_syms: 177,
  query_module: 178,
  quotactl: 179,
  nfsservctl: 180,
  lookup_dcookie: 212,
  clock_settime: 227,
  kexec_load: 246,
  add_key: 248,
  request_key: 249,
  keyctl: 250,
  unshare: 272,
  perf_event_open: 298,
  fanotify_init: 300,
  name_to_handle_at: 303,
  open_by_handle_at: 304,
  clock_adjtime: 305,
  setns: 308,
  finit_module: 313,
  kexec_file_load: 320,
  bpf: 321,
  userfaultfd: 323,
  io_uring_setup: 425,
  io_uring_enter: 426,
  io_uring_register: 427,
  open_tree: 428,
  move_mount: 429,
  fsopen: 430,
  fsconfig: 431,
  fsmount: 432,
  fspick: 433,
  clone3: 435,
  pidfd_getfd: 438,
  mount_setattr: 442,
  quotactl_fd: 443,
} as const;

export type SyscallName = keyof typeof X86_64_SYSCALLS;

/** Denied with EPERM. */
export const DENIED_EPERM: readonly SyscallName[] = [
  // mounts and root changes (the old and the new mount API)
  'mount', 'umount2', 'pivot_root', 'chroot', 'open_tree', 'move_mount', 'fsopen', 'fsconfig', 'fsmount', 'fspick', 'mount_setattr',
  // namespaces: no nested user/mount/net namespaces (clone is checked by flags below)
  'unshare', 'setns',
  // the kernel itself: modules, kexec, reboot, swap, BPF, perf, syslog, accounting, quotas
  'init_module', 'finit_module', 'delete_module', 'create_module', 'get_kernel_syms', 'query_module',
  'kexec_load', 'kexec_file_load', 'reboot', 'swapon', 'swapoff', 'bpf', 'perf_event_open', 'syslog',
  'acct', 'quotactl', 'quotactl_fd', 'lookup_dcookie', 'nfsservctl', 'uselib', 'ustat', 'sysfs', '_sysctl',
  'fanotify_init', 'iopl', 'ioperm', 'vhangup',
  // clocks and names of the host (need capabilities anyway; denied so that no bug can matter)
  'settimeofday', 'clock_settime', 'clock_adjtime', 'adjtimex', 'sethostname', 'setdomainname',
  // memory and handle tricks used by exploits; key rings are not namespaced
  'userfaultfd', 'open_by_handle_at', 'name_to_handle_at', 'add_key', 'request_key', 'keyctl',
  // other processes: no debugging, no stealing file descriptors
  'ptrace', 'pidfd_getfd',
];

/** Denied with ENOSYS, so that callers fall back to an older interface. */
export const DENIED_ENOSYS: readonly SyscallName[] = ['clone3', 'io_uring_setup', 'io_uring_enter', 'io_uring_register'];

/** CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET. */
export const CLONE_NEW_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000;

const OFFSET_NR = 0;
const OFFSET_ARCH = 4;
/** Low 32 bits of args[0] (little endian): clone's flags; no CLONE_NEW* flag is above bit 31. */
const OFFSET_ARG0_LOW = 16;

const errno = (code: number): number => SECCOMP_RET_ERRNO | code;

/** The filter as BPF instructions. */
export function seccompProgram(): SockFilter[] {
  const nr = (name: SyscallName): number => X86_64_SYSCALLS[name];
  const ops: BpfOp[] = [
    // Another architecture's calling convention (i386 through int 0x80) has other numbers: refuse all.
    { op: 'ld', offset: OFFSET_ARCH },
    { op: 'jeq', k: AUDIT_ARCH_X86_64, then: 'native', else: 'eperm' },
    { op: 'label', name: 'native' },
    { op: 'ld', offset: OFFSET_NR },
    { op: 'jset', k: X32_SYSCALL_BIT, then: 'eperm' },
    { op: 'jeq', k: nr('clone'), then: 'clone' },
    ...DENIED_EPERM.map((name): BpfOp => ({ op: 'jeq', k: nr(name), then: 'eperm' })),
    ...DENIED_ENOSYS.map((name): BpfOp => ({ op: 'jeq', k: nr(name), then: 'enosys' })),
    { op: 'ret', value: SECCOMP_RET_ALLOW },
    { op: 'label', name: 'clone' },
    { op: 'ld', offset: OFFSET_ARG0_LOW },
    { op: 'jset', k: CLONE_NEW_FLAGS, then: 'eperm' },
    { op: 'ret', value: SECCOMP_RET_ALLOW },
    { op: 'label', name: 'eperm' },
    { op: 'ret', value: errno(EPERM) },
    { op: 'label', name: 'enosys' },
    { op: 'ret', value: errno(ENOSYS) },
  ];
  return assemble(ops);
}

/** The compiled filter bwrap reads from its `--seccomp` descriptor, or undefined where we have no table. */
export function seccompFilter(machine: string = arch()): Buffer | undefined {
  if (machine !== 'x64') return undefined;
  return encode(seccompProgram());
}
