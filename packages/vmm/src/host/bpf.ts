/**
 * Classic BPF as the kernel's seccomp takes it: a tiny assembler with labels (so jump offsets are
 * computed, never hand-counted), the binary encoding (`struct sock_filter`, 8 bytes each, little
 * endian as on x86_64/aarch64), and an interpreter of the few opcodes the assembler emits, used
 * by the unit tests to run a generated program on sample system calls.
 */

/** Opcodes (linux/bpf_common.h): class | size | mode, class | op | source. */
export const BPF = {
  LD_W_ABS: 0x20, // BPF_LD | BPF_W | BPF_ABS
  JEQ_K: 0x15, // BPF_JMP | BPF_JEQ | BPF_K
  JGE_K: 0x35, // BPF_JMP | BPF_JGE | BPF_K
  JSET_K: 0x45, // BPF_JMP | BPF_JSET | BPF_K
  JA: 0x05, // BPF_JMP | BPF_JA
  RET_K: 0x06, // BPF_RET | BPF_K
} as const;

export interface SockFilter {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

/** One instruction before assembly: jumps name their targets. */
export type BpfOp =
  | { op: 'ld'; offset: number }
  | { op: 'jeq' | 'jge' | 'jset'; k: number; then: string; else?: string }
  | { op: 'ret'; value: number }
  | { op: 'label'; name: string };

/** Resolves labels into relative offsets (a missing `else` falls through). */
export function assemble(ops: readonly BpfOp[]): SockFilter[] {
  const positions = new Map<string, number>();
  let index = 0;
  for (const op of ops) {
    if (op.op === 'label') {
      if (positions.has(op.name)) throw new Error(`BPF label ${op.name} defined twice`);
      positions.set(op.name, index);
    } else {
      index++;
    }
  }
  const out: SockFilter[] = [];
  const target = (name: string, from: number): number => {
    const to = positions.get(name);
    if (to === undefined) throw new Error(`BPF label ${name} is not defined`);
    const offset = to - from - 1;
    // Classic BPF jumps only forward, by at most 255 instructions.
    if (offset < 0 || offset > 255) throw new Error(`BPF jump to ${name} out of range (${offset})`);
    return offset;
  };
  for (const op of ops) {
    const here = out.length;
    switch (op.op) {
      case 'label':
        break;
      case 'ld':
        out.push({ code: BPF.LD_W_ABS, jt: 0, jf: 0, k: op.offset });
        break;
      case 'ret':
        out.push({ code: BPF.RET_K, jt: 0, jf: 0, k: op.value >>> 0 });
        break;
      default: {
        const code = op.op === 'jeq' ? BPF.JEQ_K : op.op === 'jge' ? BPF.JGE_K : BPF.JSET_K;
        out.push({ code, jt: target(op.then, here), jf: op.else === undefined ? 0 : target(op.else, here), k: op.k >>> 0 });
      }
    }
  }
  if (out.length > 4096) throw new Error('BPF program longer than the kernel accepts (4096)');
  return out;
}

export function encode(program: readonly SockFilter[]): Buffer {
  const buf = Buffer.alloc(program.length * 8);
  program.forEach((ins, i) => {
    buf.writeUInt16LE(ins.code, i * 8);
    buf.writeUInt8(ins.jt, i * 8 + 2);
    buf.writeUInt8(ins.jf, i * 8 + 3);
    buf.writeUInt32LE(ins.k >>> 0, i * 8 + 4);
  });
  return buf;
}

export function decode(buf: Buffer): SockFilter[] {
  if (buf.length % 8 !== 0) throw new Error('a BPF program is a multiple of 8 bytes');
  const out: SockFilter[] = [];
  for (let i = 0; i < buf.length; i += 8) {
    out.push({ code: buf.readUInt16LE(i), jt: buf.readUInt8(i + 2), jf: buf.readUInt8(i + 3), k: buf.readUInt32LE(i + 4) });
  }
  return out;
}

/** `struct seccomp_data` as the filter sees it. */
export interface SeccompData {
  nr: number;
  arch: number;
  instructionPointer?: bigint;
  args?: bigint[];
}

/** The 64-byte `struct seccomp_data` (nr, arch, instruction_pointer, args[6]), little endian. */
export function seccompDataBytes(data: SeccompData): Buffer {
  const buf = Buffer.alloc(64);
  buf.writeInt32LE(data.nr, 0);
  buf.writeUInt32LE(data.arch >>> 0, 4);
  buf.writeBigUInt64LE(data.instructionPointer ?? 0n, 8);
  (data.args ?? []).slice(0, 6).forEach((a, i) => buf.writeBigUInt64LE(BigInt.asUintN(64, a), 16 + i * 8));
  return buf;
}

/** Runs a program on one input, as the kernel would; returns the action word (unsigned). */
export function interpret(program: readonly SockFilter[], data: SeccompData): number {
  const input = seccompDataBytes(data);
  let acc = 0;
  for (let pc = 0; pc < program.length; pc++) {
    const ins = program[pc] as SockFilter;
    switch (ins.code) {
      case BPF.LD_W_ABS:
        if (ins.k % 4 !== 0 || ins.k + 4 > input.length) throw new Error(`BPF load out of bounds at ${pc}`);
        acc = input.readUInt32LE(ins.k);
        break;
      case BPF.JEQ_K:
        pc += acc === ins.k ? ins.jt : ins.jf;
        break;
      case BPF.JGE_K:
        pc += acc >= ins.k ? ins.jt : ins.jf;
        break;
      case BPF.JSET_K:
        pc += (acc & ins.k) !== 0 ? ins.jt : ins.jf;
        break;
      case BPF.JA:
        pc += ins.k;
        break;
      case BPF.RET_K:
        return ins.k >>> 0;
      default:
        throw new Error(`BPF opcode 0x${ins.code.toString(16)} at ${pc} is not interpreted`);
    }
  }
  throw new Error('BPF program fell off its end');
}
