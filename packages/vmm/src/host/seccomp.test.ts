import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assemble, decode, encode, interpret } from './bpf.ts';
import {
  AUDIT_ARCH_X86_64,
  CLONE_NEW_FLAGS,
  DENIED_ENOSYS,
  DENIED_EPERM,
  ENOSYS,
  EPERM,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_ERRNO,
  X32_SYSCALL_BIT,
  X86_64_SYSCALLS,
  seccompFilter,
} from './seccomp.ts';

const AUDIT_ARCH_I386 = 0x40000003;
// Thread creation as glibc's pthread_create does it (CLONE_VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|PARENT_SETTID|CHILD_CLEARTID).
const PTHREAD_FLAGS = 0x3d0f00;
const FORK_FLAGS = 0x01200011; // CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | SIGCHLD

describe('seccomp filter', () => {
  // Run the bytes bwrap receives, decoded, not the in-memory program.
  const bytes = seccompFilter('x64');
  assert.ok(bytes);
  const program = decode(bytes);
  const run = (nr: number, args: bigint[] = [], arch = AUDIT_ARCH_X86_64): number => interpret(program, { nr, arch, args });

  it('encodes to whole sock_filter records that decode back to the same program', () => {
    assert.equal(bytes.length % 8, 0);
    assert.deepEqual(encode(program), bytes);
    assert.ok(program.length < 256, `${program.length} instructions`);
  });

  it('denies the listed calls with EPERM and clone3/io_uring with ENOSYS', () => {
    for (const name of DENIED_EPERM) assert.equal(run(X86_64_SYSCALLS[name]), SECCOMP_RET_ERRNO | EPERM, name);
    for (const name of DENIED_ENOSYS) assert.equal(run(X86_64_SYSCALLS[name]), SECCOMP_RET_ERRNO | ENOSYS, name);
  });

  it('allows every other system call number', () => {
    const denied = new Set<number>([...DENIED_EPERM, ...DENIED_ENOSYS].map((n) => X86_64_SYSCALLS[n]));
    for (let nr = 0; nr < 512; nr++) {
      if (denied.has(nr) || nr === X86_64_SYSCALLS.clone) continue;
      assert.equal(run(nr), SECCOMP_RET_ALLOW, `syscall ${nr}`);
    }
    // read, write, openat, mmap, futex, epoll_wait: what Node.js lives on
    for (const nr of [0, 1, 257, 9, 202, 232]) assert.equal(run(nr), SECCOMP_RET_ALLOW);
  });

  it('lets clone create threads and processes but no namespace', () => {
    const clone = X86_64_SYSCALLS.clone;
    assert.equal(run(clone, [BigInt(PTHREAD_FLAGS)]), SECCOMP_RET_ALLOW);
    assert.equal(run(clone, [BigInt(FORK_FLAGS)]), SECCOMP_RET_ALLOW);
    for (let bit = 0; bit < 32; bit++) {
      const flag = 2 ** bit;
      if ((CLONE_NEW_FLAGS & flag) === 0) continue;
      assert.equal(run(clone, [BigInt(FORK_FLAGS | flag)]), SECCOMP_RET_ERRNO | EPERM, `flag 0x${flag.toString(16)}`);
    }
    // CLONE_NEWUSER | CLONE_NEWNS with junk in the upper half still matches on the low word.
    assert.equal(run(clone, [(0xffffffffn << 32n) | 0x10020000n]), SECCOMP_RET_ERRNO | EPERM);
  });

  it('refuses other calling conventions: i386 numbers and x32 calls', () => {
    assert.equal(run(0, [], AUDIT_ARCH_I386), SECCOMP_RET_ERRNO | EPERM);
    assert.equal(run(21, [], AUDIT_ARCH_I386), SECCOMP_RET_ERRNO | EPERM, 'i386 mount');
    assert.equal(run(X32_SYSCALL_BIT | 0), SECCOMP_RET_ERRNO | EPERM);
    assert.equal(run(X32_SYSCALL_BIT | X86_64_SYSCALLS.mount), SECCOMP_RET_ERRNO | EPERM);
  });

  it('has no filter for architectures without a table', () => {
    assert.equal(seccompFilter('arm64'), undefined);
  });
});

describe('BPF assembler', () => {
  it('computes forward jumps and refuses undefined labels and backward jumps', () => {
    const prog = assemble([
      { op: 'ld', offset: 0 },
      { op: 'jeq', k: 7, then: 'yes', else: 'no' },
      { op: 'label', name: 'no' },
      { op: 'ret', value: 1 },
      { op: 'label', name: 'yes' },
      { op: 'ret', value: 2 },
    ]);
    assert.deepEqual(prog[1], { code: 0x15, jt: 1, jf: 0, k: 7 });
    assert.equal(interpret(prog, { nr: 7, arch: 0 }), 2);
    assert.equal(interpret(prog, { nr: 8, arch: 0 }), 1);
    assert.throws(() => assemble([{ op: 'jeq', k: 1, then: 'nowhere' }]), /not defined/);
    assert.throws(() => assemble([{ op: 'label', name: 'a' }, { op: 'jeq', k: 1, then: 'a' }, { op: 'ret', value: 0 }]), /out of range/);
  });
});
