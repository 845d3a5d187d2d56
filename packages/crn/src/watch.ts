/**
 * The CCN message watch of a CRN node: every message the CCN processes is handed, unverified, to
 * the `on.message` triggers (verified before use) and to the FORGET/amend handling of the live
 * executions (execution/heard-messages.ts, which verifies and checks ownership itself).
 */
import type { Logger } from '@aleph-nodes/service';
import type { ProgramContent } from '@aleph-nodes/protocol';
import type { CcnClient } from './ccn/ccn-client.ts';
import { MessageWatch } from './ccn/message-watch.ts';
import type { CrnConfig } from './config.ts';
import type { ExecutionRecords } from './db/records.ts';
import { HeardMessages } from './execution/heard-messages.ts';
import type { Supervisor } from './execution/supervisor.ts';
import type { MessageTriggers } from './execution/triggers.ts';

export interface WatchDeps {
  config: CrnConfig;
  ccn: CcnClient;
  ccns: readonly string[];
  supervisor: Supervisor;
  records: ExecutionRecords;
  triggers: MessageTriggers | undefined;
  logger: Logger;
}

export function messageWatch({ config, ccn, ccns, supervisor, records, triggers, logger }: WatchDeps): MessageWatch {
  const heard = new HeardMessages({
    ccn,
    ownerOf: (ref) => {
      const known = supervisor.find(ref)?.owner ?? records.get(ref)?.owner;
      if (known !== undefined) return known;
      // A program only in the message cache would start from it on the next request.
      const cached = ccn.peekMessage(ref);
      return cached && (cached.message.type === 'PROGRAM' || cached.message.type === 'INSTANCE') ? String(cached.content.address ?? cached.message.sender) : undefined;
    },
    live: () => supervisor.liveExecutions().map((e) => ({ ref: e.ref, owner: e.owner, codeRef: (e.message.content as unknown as Partial<ProgramContent>).code?.ref })),
    retire: (ref, why) => supervisor.messageRetired(ref, why),
    forgotten: (ref) => triggers?.forget(ref),
    logger: logger.child({ component: 'heard-messages' }),
  });
  return new MessageWatch(
    ccns,
    {
      message: (msg) => {
        // Subscriptions come from the CCN's processed messages; they are verified before use.
        if (msg.type === 'PROGRAM') {
          ccn.verify(msg).then(
            (v) => triggers?.register(v.message.item_hash, (v.content.on as { message?: unknown } | undefined)?.message),
            () => undefined,
          );
        }
        triggers?.dispatch(msg, (m) => ccn.verify(m));
        void heard.handle(msg);
      },
    },
    logger.child({ component: 'message-watch' }),
    { failbackMs: config.ccnFailbackSeconds * 1000 },
  );
}
