/**
 * Replay protection of signed allocation pushes: per signer, the last accepted `iat` and the
 * payload digests accepted at that second. A push with an older `iat`, or a digest already
 * accepted, is a replay. Two different pushes in the same second (different bodies, so different
 * digests) are both accepted; a later `iat` forgets the digests of the earlier second, which no
 * push may use any more.
 *
 * The CRN keeps this state on disk (its SQLite), so a restart does not reopen the window; the
 * in-memory guard here serves tests and callers that need no persistence.
 */

/** Most digests remembered for one signer at one `iat` (an honest signer sends a handful). */
export const ALLOCATION_DIGESTS_PER_SECOND = 64;

export interface AllocationReplayGuard {
  /**
   * Records `(signer, iat, digest)` when it is acceptable and answers true; false when `iat` is
   * older than the signer's last accepted one, the digest was already accepted at `iat`, or the
   * signer already used up its digests for that second. Called only after every other check
   * passed, so that a refused push never moves the signer's state.
   */
  accept(signer: string, iat: number, digest: string): boolean;
}

export interface SignerReplayState {
  lastIat: number;
  digests: string[];
}

/** The decision shared by every guard: the new state, or undefined for a replay. */
export function nextReplayState(current: SignerReplayState | undefined, iat: number, digest: string): SignerReplayState | undefined {
  if (!current || iat > current.lastIat) return { lastIat: iat, digests: [digest] };
  if (iat < current.lastIat) return undefined;
  if (current.digests.includes(digest) || current.digests.length >= ALLOCATION_DIGESTS_PER_SECOND) return undefined;
  return { lastIat: iat, digests: [...current.digests, digest] };
}

export class MemoryReplayGuard implements AllocationReplayGuard {
  readonly #signers = new Map<string, SignerReplayState>();

  accept(signer: string, iat: number, digest: string): boolean {
    const next = nextReplayState(this.#signers.get(signer), iat, digest);
    if (!next) return false;
    this.#signers.set(signer, next);
    return true;
  }
}
