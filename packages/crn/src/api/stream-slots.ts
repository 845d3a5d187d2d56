/**
 * Caps on live log websockets (`stream_logs`): in total and per client address from the moment
 * a socket opens (an unauthenticated socket holds its slot for up to the 10 s the auth frame may
 * take), and per execution once the socket is authenticated (so that strangers cannot use up an
 * execution's slots and lock its owner out).
 */
export interface StreamLimits {
  perExecution: number;
  perIp: number;
  total: number;
}

export interface StreamLease {
  /** Counts the socket against `ref` (once authenticated); a refusal reason when `ref` is full. */
  bind(ref: string): string | undefined;
  /** Frees every slot the socket holds; idempotent. */
  release(): void;
}

function dec(map: Map<string, number>, key: string): void {
  const n = (map.get(key) ?? 0) - 1;
  if (n <= 0) map.delete(key);
  else map.set(key, n);
}

export class StreamSlots {
  readonly #limits: StreamLimits;
  #total = 0;
  readonly #byIp = new Map<string, number>();
  readonly #byRef = new Map<string, number>();

  constructor(limits: StreamLimits) {
    this.#limits = limits;
  }

  /** A lease for a new socket from `ip`, or the reason it is refused. */
  admit(ip: string): StreamLease | { refused: string } {
    if (this.#total >= this.#limits.total) return { refused: 'too many log streams on this node' };
    if ((this.#byIp.get(ip) ?? 0) >= this.#limits.perIp) return { refused: 'too many log streams from this address' };
    this.#total++;
    this.#byIp.set(ip, (this.#byIp.get(ip) ?? 0) + 1);
    let released = false;
    let boundRef: string | undefined;
    return {
      bind: (ref) => {
        if (released || boundRef !== undefined) return undefined;
        if ((this.#byRef.get(ref) ?? 0) >= this.#limits.perExecution) return 'too many log streams for this execution';
        boundRef = ref;
        this.#byRef.set(ref, (this.#byRef.get(ref) ?? 0) + 1);
        return undefined;
      },
      release: () => {
        if (released) return;
        released = true;
        this.#total--;
        dec(this.#byIp, ip);
        if (boundRef !== undefined) dec(this.#byRef, boundRef);
      },
    };
  }

  /** Sockets open now (metrics, tests). */
  get open(): number {
    return this.#total;
  }
}
