/**
 * When a foreground process (a node daemon, the devnet) is asked to stop. The first request
 * starts a graceful stop; later ones are reported and otherwise ignored, because a graceful stop
 * is what leaves no VM, tap or namespace behind: a terminal's Ctrl-C reaches every process of
 * its group, and a parent that then forwards its own SIGTERM must not turn that into "exit at
 * once". A process that hangs is bounded by its own close timeout, or by SIGKILL.
 *
 * A child started by a supervisor can also be told to stop when that supervisor dies, whatever
 * the cause (SIGKILL included): the supervisor holds the write end of the child's stdin, and the
 * kernel closes it when the supervisor exits (see child-node.ts).
 */

/** Set by child-node.ts on the daemons it starts: their stdin closing means "stop". */
export const STOP_WITH_PARENT_ENV = 'ALEPH_NODES_STOP_WITH_PARENT';

export interface StopRequests {
  /** Resolves with the reason of the first request (a signal name, or `parent exited`). */
  readonly first: Promise<string>;
  /** The first request's reason, once there was one. */
  readonly reason: string | undefined;
  /** Removes the listeners and lets stdin go (call once the process has stopped). */
  dispose(): void;
}

export interface StopRequestOptions {
  signals: readonly NodeJS.Signals[];
  /** Also stop when stdin ends (a supervisor that started this process is gone). */
  stopOnStdinEnd?: boolean;
  /** Called for every request after the first (log it: the process is still stopping). */
  onRepeat?: (reason: string) => void;
}

export function listenForStop(opts: StopRequestOptions): StopRequests {
  let reason: string | undefined;
  let resolveFirst: (reason: string) => void = () => {};
  const first = new Promise<string>((resolve) => {
    resolveFirst = resolve;
  });
  const request = (why: string): void => {
    if (reason !== undefined) {
      opts.onRepeat?.(why);
      return;
    }
    reason = why;
    resolveFirst(why);
  };
  const handlers = opts.signals.map((signal) => {
    const handler = (): void => request(signal);
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  const onEnd = (): void => request('parent exited');
  if (opts.stopOnStdinEnd) {
    process.stdin.on('end', onEnd);
    process.stdin.on('error', onEnd);
    // Flowing mode, data discarded: only the end matters.
    process.stdin.on('data', () => {});
    process.stdin.resume();
  }
  return {
    first,
    get reason() {
      return reason;
    },
    dispose() {
      for (const [signal, handler] of handlers) process.off(signal, handler);
      if (opts.stopOnStdinEnd) {
        process.stdin.off('end', onEnd);
        process.stdin.off('error', onEnd);
        // A stdin being read keeps the event loop alive: release it so that the process exits.
        process.stdin.destroy();
      }
    },
  };
}
