import type { AlephMessage } from '@aleph-nodes/protocol';

/** A message from a CCN whose hash and signature this CRN checked, with its parsed content. */
export interface VerifiedMessage {
  message: AlephMessage;
  content: Record<string, unknown>;
}
