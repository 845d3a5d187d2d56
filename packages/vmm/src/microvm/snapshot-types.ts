/** The shapes of a VM snapshot (snapshot.ts saves, snapshot-restore.ts restores), kept apart so the VM options can name them. */
import type { Accelerator } from './qemu-args.ts';

/** What a restore must match: QEMU refuses (or corrupts) a stream from another machine shape. */
export interface SnapshotLayout {
  accelerator: Accelerator;
  vcpus: number;
  memoryMib: number;
  kernel: string;
  initramfs: string;
  runtime: string;
  /** Serials and paths of the further drives, in order (their contents are not in the stream). */
  drives: Array<{ serial: string; path: string; readOnly: boolean }>;
}

/** A saved snapshot, as a restore needs it. */
export interface SnapshotRestore {
  file: string;
  layout: SnapshotLayout;
}
