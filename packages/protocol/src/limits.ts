/** Hard limits of the protocol (aleph-protocol.md §4–§5). */
export const LIMITS = {
  /** inline item_content, in characters ("Message too long" in the reference). */
  inlineContentChars: 200_000,
  /** content size from which the SDK switches from inline to storage. */
  sdkInlineSwitchBytes: 50_000,
  channelChars: 128,
  /** content.time upper bound (seconds). */
  maxContentTime: 9_223_372_036,
  /** uploads without a signed STORE message. */
  anonymousUploadBytes: 25 * 1024 * 1024,
  /** uploads with a signed STORE message, and the largest file served. */
  signedUploadBytes: 100 * 1024 * 1024,
  forgetHashes: 1000,
  forgetReasonChars: 1000,
  /** nesting depth of a content document (objects and arrays); deeper ones break recursive consumers. */
  contentJsonDepth: 512,
} as const;
