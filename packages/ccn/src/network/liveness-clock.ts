/**
 * This node's clock against its peers': each pull of a peer's heartbeats carries the peer's clock
 * (`now`), compared with the middle of the request. The median over the peers that answered
 * recently is robust to one peer with a bad clock; a node far from it fences itself (liveness.ts).
 */
export class ClockOffsets {
  readonly #byPeer = new Map<string, { offset: number; at: number }>();

  /** A peer answered `peerNow` to a request sent at `sentAt` and answered at `receivedAt` (our clock). */
  record(peer: string, peerNow: number, sentAt: number, receivedAt: number): void {
    this.#byPeer.set(peer, { offset: peerNow - (sentAt + receivedAt) / 2, at: receivedAt });
  }

  /** Median of the peers' clocks minus ours (seconds) over answers at most `windowSeconds` old; null without any. */
  median(now: number, windowSeconds: number): number | null {
    const recent = [...this.#byPeer.values()].filter((o) => now - o.at <= windowSeconds).map((o) => o.offset);
    if (recent.length === 0) return null;
    recent.sort((a, b) => a - b);
    const mid = Math.floor(recent.length / 2);
    return recent.length % 2 === 1 ? (recent[mid] as number) : ((recent[mid - 1] as number) + (recent[mid] as number)) / 2;
  }
}
