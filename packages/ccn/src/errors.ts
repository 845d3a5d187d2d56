/** The CCN HTTP surface's error codes: one table, rendered as {"error": {"code", "message"}}. */
import { defineErrorTable } from '@aleph-nodes/service';

export const CCN_ERRORS = defineErrorTable({
  INVALID_MESSAGE: { status: 422, message: 'The message is invalid' },
  MESSAGE_REJECTED: { status: 422, message: 'The message was rejected' },
  INVALID_PARAMETER: { status: 422, message: 'A query parameter is invalid' },
  INVALID_BODY: { status: 422, message: 'The request body is invalid' },
  INVALID_HASH: { status: 400, message: 'Not a valid item hash' },
  SIGNATURE_INVALID: { status: 403, message: 'The message signature is invalid' },
  FORBIDDEN_TOPIC: { status: 403, message: 'This pubsub topic is not allowed' },
  MESSAGE_NOT_FOUND: { status: 404, message: 'No message with this hash' },
  FILE_NOT_FOUND: { status: 404, message: 'No file with this hash' },
  AGGREGATE_NOT_FOUND: { status: 404, message: 'No aggregate for this address and keys' },
  NOT_FOUND: { status: 404, message: 'Not found' },
  MESSAGE_GONE: { status: 410, message: 'The message was forgotten or removed' },
  NOT_PRICED: { status: 400, message: 'Only executable and STORE messages have a price' },
  PRICING_INCOMPLETE: { status: 503, message: "The network's pricing aggregate cannot price this product" },
  FILE_HASH_MISMATCH: { status: 422, message: 'The uploaded file does not hash to the STORE item_hash' },
  FILE_TOO_LARGE: { status: 413, message: 'The file is too large' },
  MISSING_FILE: { status: 422, message: 'The multipart upload has no file part' },
  MALFORMED_MULTIPART: { status: 400, message: 'The multipart body is malformed or incomplete' },
  UNEXPECTED_PART: { status: 400, message: 'The multipart body has a part this route does not take' },
  BODY_TOO_COMPLEX: { status: 413, message: 'The JSON body holds too many values or nests too deep' },
  PART_TOO_LARGE: { status: 413, message: 'A multipart field is too large' },
  TOO_MANY_PARTS: { status: 413, message: 'The multipart body has more parts than this route takes' },
  TOO_MANY_UPLOADS: { status: 429, message: 'Too many uploads in flight from this address' },
  UPLOADS_BUSY: { status: 503, message: 'The node is handling as many uploads as it takes' },
  RANGE_NOT_SATISFIABLE: { status: 416, message: 'The requested range is not satisfiable' },
  MESSAGE_NOT_PROCESSED: { status: 422, message: 'The message is not processed' },
});
export type CcnErrorCode = keyof typeof CCN_ERRORS.specs;
