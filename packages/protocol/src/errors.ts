/**
 * Typed errors of the protocol layer. Every failure that untrusted input can cause is one of these,
 * so the HTTP surfaces map them to statuses without inspecting message strings.
 */

/** Numeric error codes of the Aleph processing pipeline (aleph-protocol.md §6), kept for wire compatibility. */
export const ALEPH_ERROR = {
  INTERNAL: -1,
  INVALID_FORMAT: 0,
  INVALID_SIGNATURE: 1,
  PERMISSION_DENIED: 2,
  CONTENT_UNAVAILABLE: 3,
  FILE_UNAVAILABLE: 4,
  BALANCE_INSUFFICIENT: 5,
  CREDIT_INSUFFICIENT: 6,
  AMEND_WITHOUT_TARGET: 100,
  AMEND_TARGET_NOT_FOUND: 101,
  AMEND_OF_AMEND: 102,
  STORE_REF_NOT_FOUND: 200,
  STORE_UPDATE_OF_UPDATE: 201,
  INVALID_PAYMENT_METHOD: 202,
  VM_REF_NOT_FOUND: 300,
  VM_VOLUME_NOT_FOUND: 301,
  VM_AMEND_NOT_ALLOWED: 302,
  VM_UPDATE_OF_UPDATE: 303,
  VM_VOLUME_TOO_SMALL: 304,
  FORGET_NO_TARGET: 500,
  FORGET_TARGET_NOT_FOUND: 501,
  FORGET_FORGET: 502,
  FORGET_NOT_ALLOWED: 503,
  FORGOTTEN_DUPLICATE: 504,
} as const;
export type AlephErrorCode = (typeof ALEPH_ERROR)[keyof typeof ALEPH_ERROR];

/** Our own error codes for protocol-level failures; stable strings clients can match on. */
export type ProtocolErrorCode =
  | 'INVALID_JSON'
  | 'INVALID_ENVELOPE'
  | 'UNKNOWN_MESSAGE_TYPE'
  | 'UNSUPPORTED_CHAIN'
  | 'INVALID_ITEM_TYPE'
  | 'INVALID_ITEM_HASH'
  | 'ITEM_HASH_MISMATCH'
  | 'CONTENT_TOO_LONG'
  | 'INVALID_CONTENT'
  | 'BAD_HEX'
  | 'INVALID_SIGNATURE'
  | 'TIME_IN_FUTURE'
  | 'INVALID_AUTH_HEADER'
  | 'AUTH_EXPIRED'
  | 'AUTH_MISMATCH'
  | 'AUTH_REPLAYED'
  | 'UNAUTHORIZED_SIGNER';

const ALEPH_CODE_OF: Record<ProtocolErrorCode, AlephErrorCode> = {
  INVALID_JSON: ALEPH_ERROR.INVALID_FORMAT,
  INVALID_ENVELOPE: ALEPH_ERROR.INVALID_FORMAT,
  UNKNOWN_MESSAGE_TYPE: ALEPH_ERROR.INVALID_FORMAT,
  UNSUPPORTED_CHAIN: ALEPH_ERROR.INVALID_FORMAT,
  INVALID_ITEM_TYPE: ALEPH_ERROR.INVALID_FORMAT,
  INVALID_ITEM_HASH: ALEPH_ERROR.INVALID_FORMAT,
  ITEM_HASH_MISMATCH: ALEPH_ERROR.INVALID_FORMAT,
  CONTENT_TOO_LONG: ALEPH_ERROR.INVALID_FORMAT,
  INVALID_CONTENT: ALEPH_ERROR.INVALID_FORMAT,
  BAD_HEX: ALEPH_ERROR.INVALID_FORMAT,
  TIME_IN_FUTURE: ALEPH_ERROR.INVALID_FORMAT,
  INVALID_SIGNATURE: ALEPH_ERROR.INVALID_SIGNATURE,
  INVALID_AUTH_HEADER: ALEPH_ERROR.PERMISSION_DENIED,
  AUTH_EXPIRED: ALEPH_ERROR.PERMISSION_DENIED,
  AUTH_MISMATCH: ALEPH_ERROR.PERMISSION_DENIED,
  AUTH_REPLAYED: ALEPH_ERROR.PERMISSION_DENIED,
  UNAUTHORIZED_SIGNER: ALEPH_ERROR.PERMISSION_DENIED,
};

export interface ProtocolIssue {
  path: string;
  message: string;
}

export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  readonly code: ProtocolErrorCode;
  /** The Aleph pipeline code a CCN reports for a message rejected with this error. */
  readonly alephCode: AlephErrorCode;
  readonly issues: readonly ProtocolIssue[];

  constructor(code: ProtocolErrorCode, message: string, issues: readonly ProtocolIssue[] = []) {
    super(message);
    this.code = code;
    this.alephCode = ALEPH_CODE_OF[code];
    this.issues = issues;
  }

  toJSON(): { code: ProtocolErrorCode; message: string; issues?: readonly ProtocolIssue[] } {
    return this.issues.length > 0
      ? { code: this.code, message: this.message, issues: this.issues }
      : { code: this.code, message: this.message };
  }
}

export function isProtocolError(err: unknown): err is ProtocolError {
  return err instanceof ProtocolError;
}
