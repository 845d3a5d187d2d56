/**
 * How long a microVM boot may take and how often it is retried: the boot watchdog
 * (boot-watchdog.ts) enforces it; the VM options (vm-types.ts) carry it. A file of its own so
 * that the options' types do not import the watchdog.
 */
export interface BootPolicy {
  attempts: number;
  /**
   * Longest silence on the console while the kernel boots (until the initramfs speaks): the
   * kernel prints steadily, and a TCG timer hang shows as silence. Later phases (Node.js
   * starting the agent) are quiet for seconds and only bounded by `timeoutMs`.
   */
  stallMs: number;
  /** Longest time from QEMU start to the hello. */
  timeoutMs: number;
  /** Longest time from sending the configuration to its answer. */
  configureTimeoutMs: number;
  /** Instances, after the kernel phase: longest console silence before SSH answers. */
  instanceSilenceMs: number;
  /** Instances: longest time from QEMU start to SSH answering. */
  instanceTimeoutMs: number;
}

export const DEFAULT_BOOT_POLICY: BootPolicy = {
  attempts: 3,
  stallMs: 6_000,
  timeoutMs: 60_000,
  configureTimeoutMs: 60_000,
  instanceSilenceMs: 120_000,
  instanceTimeoutMs: 600_000,
};

