/** Typed failures of a cost computation that are not a malformed content (those are ProtocolErrors). */
import { ALEPH_ERROR, type AlephErrorCode } from '../errors.ts';

export type CostErrorCode =
  /** A GPU whose PCI device id the `settings` aggregate does not list. */
  | 'UNKNOWN_GPU'
  /** A GPU model no tier of the GPU products prices. */
  | 'GPU_NOT_PRICED'
  /** The pricing model cannot price this product (no compute-unit price). */
  | 'PRICING_INCOMPLETE';

const ALEPH_CODE_OF: Record<CostErrorCode, AlephErrorCode> = {
  // The message asks for hardware the network does not sell: a deterministic rejection.
  UNKNOWN_GPU: ALEPH_ERROR.INVALID_FORMAT,
  GPU_NOT_PRICED: ALEPH_ERROR.INVALID_FORMAT,
  // The network's own pricing is broken: not the sender's fault, the pipeline may retry.
  PRICING_INCOMPLETE: ALEPH_ERROR.INTERNAL,
};

export class CostError extends Error {
  override readonly name = 'CostError';
  readonly code: CostErrorCode;
  readonly alephCode: AlephErrorCode;

  constructor(code: CostErrorCode, message: string) {
    super(message);
    this.code = code;
    this.alephCode = ALEPH_CODE_OF[code];
  }

  toJSON(): { code: CostErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

export function isCostError(err: unknown): err is CostError {
  return err instanceof CostError;
}
