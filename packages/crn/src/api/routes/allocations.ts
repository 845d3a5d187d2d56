/**
 * Scheduler and user placement (crn-api.md §3.5, §3.6):
 * `POST /control/allocations` (Aleph-EIP191-V1 signed by an authorized signer, i.e. the CCN
 * the registry links this node to (ccn/linked-signers.ts), for THIS node: the signed payload names it, and its `iat` and digest
 * pass the on-disk replay state) and `POST /control/allocation/notify` (open: user-placed
 * instances that name this node and are paid by stream or credits).
 * The body is kept raw: the signature covers its SHA-256.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AllocationNotifySchema, AllocationRequestSchema, PRICING_AGGREGATE_OWNER, SETTINGS_AGGREGATE_KEY, isProtocolError, verifyAllocationRequest, type AllocationAnswer } from '@aleph-nodes/protocol';
import { HttpError } from '@aleph-nodes/service';
import type { Logger } from '@aleph-nodes/service';
import { CcnError } from '../../ccn/ccn-client.ts';
import { LinkedSigners, type LinkState } from '../../ccn/linked-signers.ts';
import { DEFAULT_ALLOCATION_SIGNER } from '../../config.ts';
import type { AuthState } from '../../db/auth-state.ts';
import { CRN_ERRORS } from '../../errors.ts';
import { userPaid } from '../../execution/allocation-policy.ts';
import { paygPlacementFailure, type PaymentFields } from '../../payments/decisions.ts';
import { paymentReceiver, workloadOfExecution, workloadOfMessage } from '../../payments/node-payments.ts';
import type { ApiContext } from '../context.ts';

function parseJson(buf: Buffer): unknown {
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch {
    throw CRN_ERRORS.error('INVALID_BODY', 'Request body is not valid JSON');
  }
}

function errorText(err: unknown): string {
  return err instanceof HttpError ? `${err.code}: ${err.message}` : (err as Error).message;
}

/** The code of a failure, as `error_codes` carries it (AllocationAnswerSchema). */
function errorCode(err: unknown): string {
  return err instanceof HttpError ? err.code : 'INTERNAL';
}

type NotifiableContent = PaymentFields;

/**
 * What notify accepts (crn-api.md §3.6, §6.10), decided before anything starts: an instance that
 * names this node (`requirements.node.node_hash`; 503 while this node does not know its hash)
 * and is paid by stream or credits (a hold instance is the scheduler's to place: 400). Unlike the
 * reference, an instance that names no node is refused too: notify is unauthenticated, so
 * without it anyone could place any instance on any node.
 */
export function checkNotifiable(content: NotifiableContent, ownNodeHash: string, receiver: string): void {
  const wanted = content.requirements?.node?.node_hash;
  if (typeof wanted !== 'string' || wanted === '') throw CRN_ERRORS.error('WRONG_NODE', 'The instance does not name this node (requirements.node.node_hash)');
  if (ownNodeHash === '') throw CRN_ERRORS.error('NODE_HASH_UNKNOWN');
  if (wanted.toLowerCase() !== ownNodeHash.toLowerCase()) throw CRN_ERRORS.error('WRONG_NODE');
  if (!userPaid(content)) throw CRN_ERRORS.error('INVALID_PAYMENT_METHOD', 'Invalid payment method: notify starts instances paid by stream (superfluid) or credits');
  // aleph-vm: a stream to another receiver is "not for this instance" (400).
  const placement = paygPlacementFailure(content, { nodeHash: ownNodeHash, receiver });
  if (placement) throw CRN_ERRORS.error(placement.code, placement.message);
}

export async function allocationRoutes(app: FastifyInstance, ctx: ApiContext, auth: AuthState): Promise<void> {
  // Raw bytes for every content type: the signature covers the exact body.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 1024 * 1024 }, (_req: FastifyRequest, body: Buffer, done: (err: Error | null, body?: Buffer) => void) => done(null, body));
  // Who may push: the `authorizedAllocationSigners` setting when set (an override);
  // else the CCN the registry links this node to (its owner and manager, re-read periodically, so
  // a re-link switches them); while this node is not linked, the first non-empty source of the
  // reference (crn-api.md §2.1): the network settings aggregate (cached 60 s), the reference scheduler key.
  const linked = new LinkedSigners(ctx.ccn, { nodeHash: ctx.config.nodeHash, domain: ctx.config.domain }, ctx.config.allocationSignersRefreshSeconds * 1000, app.log as unknown as Logger);
  let networkSigners: { at: number; list: string[] } | undefined;
  const unlinkedSigners = async (): Promise<string[]> => {
    if (!networkSigners || Date.now() - networkSigners.at > 60_000) {
      const settings = await ctx.ccn.getAggregate(PRICING_AGGREGATE_OWNER, SETTINGS_AGGREGATE_KEY).catch(() => undefined);
      const list = Array.isArray(settings?.authorized_allocation_signers) ? settings.authorized_allocation_signers.filter((a): a is string => typeof a === 'string') : [];
      networkSigners = { at: Date.now(), list };
    }
    return networkSigners.list.length > 0 ? networkSigners.list : [DEFAULT_ALLOCATION_SIGNER];
  };
  const signersOf = async (link: LinkState | undefined): Promise<string[]> => {
    if (link?.linked) return link.signers;
    if (link === undefined) {
      // Never read: the CCNs are unreachable. Refuse rather than trust a wider set than the linked CCN.
      throw CRN_ERRORS.error('CCN_UNAVAILABLE', 'The registry could not be read from any CCN: the allocation signers are unknown');
    }
    return unlinkedSigners();
  };
  const signers = async (): Promise<string[]> => {
    if (ctx.config.authorizedAllocationSigners.length > 0) return ctx.config.authorizedAllocationSigners;
    return signersOf(await linked.link());
  };
  /** After an unknown signer: the registry again (a re-link), when the registry decides the signers. */
  const rereadSigners = async (): Promise<string[] | undefined> => {
    if (ctx.config.authorizedAllocationSigners.length > 0) return undefined;
    return signersOf(await linked.reread()).catch(() => undefined);
  };
  app.post('/control/allocations', async (request, reply) => {
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const authorization = request.headers.authorization;
    if (!authorization) throw CRN_ERRORS.error('AUTH_INVALID');
    const url = request.raw.url ?? '';
    const q = url.indexOf('?');
    const contentLength = request.headers['content-length'];
    // Synchronous from the call to the replay record: two copies of one push cannot both pass.
    const verify = (authorizedSigners: readonly string[]): ReturnType<typeof verifyAllocationRequest> =>
      verifyAllocationRequest(
        {
          authorization,
          method: request.method,
          path: q >= 0 ? url.slice(0, q) : url,
          hasQuery: q >= 0,
          contentLength: contentLength === undefined ? undefined : Number(contentLength),
          body,
        },
        {
          authorizedSigners,
          replay: auth,
          self: { nodeHash: ctx.config.nodeHash, domain: ctx.config.domain },
          allowUnbound: ctx.config.allowUnboundAllocationPushes,
        },
      );
    const authorizedSigners = await signers();
    try {
      let verified;
      try {
        verified = verify(authorizedSigners);
      } catch (err) {
        // An unknown signer is checked before the replay record: verifying again is safe.
        if (!(isProtocolError(err) && err.code === 'UNAUTHORIZED_SIGNER')) throw err;
        const again = await rereadSigners();
        if (!again || JSON.stringify(again) === JSON.stringify(authorizedSigners)) throw err;
        verified = verify(again);
      }
      if (!verified.bound) request.log.warn({ signer: verified.signer }, 'accepted an allocation push that names no target (allowUnboundAllocationPushes)');
    } catch (err) {
      if (isProtocolError(err)) {
        request.log.debug({ reason: err.message }, 'allocation push refused');
        throw CRN_ERRORS.error('AUTH_INVALID', `Authentication token received is invalid: ${err.message}`);
      }
      throw err;
    }
    const parsed = AllocationRequestSchema.safeParse(parseJson(body));
    if (!parsed.success) throw CRN_ERRORS.error('INVALID_BODY', parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    if (parsed.data.on_demand_vms || parsed.data.jobs) request.log.warn('on_demand_vms and jobs are ignored');
    const outcome = await ctx.supervisor.reconcile([...parsed.data.persistent_vms, ...parsed.data.instances]);
    const errors: Record<string, string> = {};
    const codes: Record<string, string> = {};
    for (const [ref, err] of outcome.failures) {
      errors[ref] = errorText(err);
      codes[ref] = errorCode(err);
    }
    const failing = [...outcome.failures.keys()];
    const result: AllocationAnswer = { success: failing.length === 0, successful: outcome.successful, failing, stopped: outcome.stopped, errors, error_codes: codes };
    const status = result.failing.length === 0 ? 200 : result.successful.length === 0 ? 503 : 207;
    return reply.status(status).send(result);
  });

  app.post('/control/allocation/notify', async (request, reply) => {
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const parsed = AllocationNotifySchema.safeParse(parseJson(body));
    if (!parsed.success) throw CRN_ERRORS.error('INVALID_BODY', 'Body must be {"instance": "<item hash>"}');
    const ref = parsed.data.instance;
    // The notify checks come first, on the message as the CCN has it: whatever this node could
    // or could not run, an instance that is not for it is refused before anything else.
    const raw = await ctx.ccn.getMessage(ref).catch((err: unknown) => {
      if (err instanceof CcnError && err.code === 'NOT_FOUND') return undefined;
      throw CRN_ERRORS.error('CCN_UNAVAILABLE', (err as Error).message);
    });
    if (!raw) throw CRN_ERRORS.error('UNKNOWN_REF', `No message ${ref} on the CCN`);
    if (raw.message.type !== 'INSTANCE') throw CRN_ERRORS.error('NOT_EXECUTABLE', `Message ${ref} is not an INSTANCE`);
    checkNotifiable(raw.content as NotifiableContent, ctx.config.nodeHash, paymentReceiver(ctx.config, ctx.address));
    // aleph-vm's 402s (stream or credits short), before anything is prepared; notify must decide:
    // a CCN that cannot tell is a 502 here, not a start.
    await ctx.payments.beforeStart(
      workloadOfMessage(ref, raw, new Date().toISOString()),
      ctx.supervisor.liveExecutions().map(workloadOfExecution),
      { strict: true },
    );
    const message = await ctx.supervisor.message(ref);
    // The supervisor's admission decides capacity (and whatever per-owner limits it enforces).
    try {
      await ctx.supervisor.ensurePersistent(ref, message);
      return { success: true, successful: true, failing: [], errors: {}, error_codes: {} };
    } catch (err) {
      // The gate runs again at the start: a refusal there (paid no longer, wrong node) keeps its status.
      if (err instanceof HttpError && ['PAYMENT_REQUIRED', 'WRONG_NODE', 'WRONG_RECEIVER'].includes(err.code)) throw err;
      return reply.status(503).send({ success: false, successful: false, failing: [ref], errors: { [ref]: errorText(err) }, error_codes: { [ref]: errorCode(err) } });
    }
  });
}
