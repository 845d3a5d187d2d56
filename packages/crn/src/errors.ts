/** The CRN's HTTP error codes (one table for the whole surface). */
import { defineErrorTable } from '@aleph-nodes/service';

export const CRN_ERRORS = defineErrorTable({
  INVALID_REF: { status: 400, message: 'Invalid message reference' },
  NOT_EXECUTABLE: { status: 400, message: 'The message is not a PROGRAM or an INSTANCE' },
  UNSUPPORTED_WORKLOAD: { status: 400, message: 'This node cannot run this kind of workload' },
  CODE_UNAVAILABLE: { status: 400, message: 'Code, runtime or data not available' },
  INVALID_IMAGE: { status: 400, message: 'The instance root filesystem is not a usable disk image' },
  UNSAFE_PATH: { status: 400, message: 'A path in the message (entrypoint, volume mount or name) is not allowed' },
  INVALID_BODY: { status: 400, message: 'Invalid request body' },
  AUTH_MALFORMED: { status: 400, message: 'Malformed authentication headers' },
  INVALID_PAYMENT_METHOD: { status: 400, message: 'Invalid payment method' },
  WRONG_NODE: { status: 400, message: 'The instance requires another node' },
  AUTH_INVALID: { status: 401, message: 'Authentication token received is invalid' },
  LOGIN_REQUIRED: { status: 401, message: 'Login required' },
  UNAUTHORIZED_SENDER: { status: 403, message: 'Unauthorized sender' },
  UNKNOWN_REF: { status: 404, message: 'Unknown message reference' },
  UNKNOWN_EXECUTION: { status: 404, message: 'No execution with this reference on this node' },
  MESSAGE_RETIRED: { status: 410, message: 'The message was forgotten, rejected or removed: it no longer runs on this node' },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'Request body is too large (1 MiB at most)' },
  PROGRAM_START_FAILED: { status: 502, message: 'The program failed to start' },
  PROGRAM_NO_RESPONSE: { status: 502, message: 'No response from VM' },
  CCN_UNAVAILABLE: { status: 502, message: 'The CCN could not be reached' },
  OWNER_LIMIT: { status: 429, message: "The owner's on-demand programs already use their share of this node" },
  INSUFFICIENT_CAPACITY: { status: 503, message: 'Insufficient capacity' },
  OWNER_STOPPED: { status: 503, message: 'Stopped by its owner; the owner must start it again' },
  DRAINING: { status: 503, message: 'Server is draining, try another node' },
  NODE_HASH_UNKNOWN: { status: 503, message: 'This node does not know its node hash yet' },
  TOO_MANY_OPERATIONS: { status: 503, message: 'Too many recent owner operations; try again shortly' },
  PROGRAM_TIMEOUT: { status: 504, message: 'Program did not respond within `resource.seconds`' },
});
export type CrnErrorCode = keyof typeof CRN_ERRORS.specs;
