/**
 * `POST /control/reserve_resources` (aleph-vm 1.14 `operate_reserve_resources`): before paying for
 * an instance, its owner asks whether this node can hold it. Owner-signed (X-SignedPubKey +
 * X-SignedOperation on this path; single use like every owner operation), the body is the
 * INSTANCE content. Capacity is checked as admission would (503 `INSUFFICIENT_CAPACITY`); GPUs are
 * the only resource aleph-vm holds for the 60 s of a reservation and this node has none, so a
 * request for one gets aleph-vm's 400 `{"status": "error", …}`; otherwise `{"status": "reserved",
 * "expires"}` — nothing else is held, as in aleph-vm.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { InstanceContentSchema, RESERVATION_SECONDS, RESERVE_RESOURCES_PATH, type ReservationAnswer } from '@aleph-nodes/protocol';
import type { AuthState } from '../../db/auth-state.ts';
import { CRN_ERRORS } from '../../errors.ts';
import { admissionFailure } from '../../execution/admission.ts';
import type { ApiContext } from '../context.ts';
import { verifyOwnerSignature } from '../owner-auth.ts';

const BODY_LIMIT = 256 * 1024;

export async function reserveRoutes(app: FastifyInstance, ctx: ApiContext, auth: AuthState): Promise<void> {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: BODY_LIMIT }, (_req: FastifyRequest, body: Buffer, done: (err: Error | null, body?: Buffer) => void) => done(null, body));

  app.post(RESERVE_RESOURCES_PATH, async (request, reply) => {
    const verified = verifyOwnerSignature(ctx, {
      signedPubKey: request.headers['x-signedpubkey'],
      signedOperation: request.headers['x-signedoperation'],
      method: request.method,
      path: RESERVE_RESOURCES_PATH,
    });
    let json: unknown;
    try {
      json = JSON.parse((Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0)).toString('utf8'));
    } catch {
      throw CRN_ERRORS.error('INVALID_BODY', 'Body is not valid JSON');
    }
    const parsed = InstanceContentSchema.safeParse(json);
    if (!parsed.success) throw CRN_ERRORS.error('INVALID_BODY', parsed.error.issues.slice(0, 10).map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    // Spent only once the request is well-formed: a malformed body does not burn the operation.
    const use = auth.useOwnerOperation(verified.operation.key, verified.operation.expiresAtMs);
    if (use === 'replayed') throw CRN_ERRORS.error('AUTH_INVALID', 'this signed operation was already used');
    if (use === 'full') throw CRN_ERRORS.error('TOO_MANY_OPERATIONS');

    const content = parsed.data;
    const volumeMib = content.volumes.reduce((n, v) => n + ('size_mib' in v && typeof v.size_mib === 'number' ? v.size_mib : 0), 0);
    const failure = admissionFailure(ctx.capacity, ctx.supervisor.committed(), { vcpus: content.resources.vcpus, memoryMib: content.resources.memory, diskMib: content.rootfs.size_mib + volumeMib });
    if (failure) throw CRN_ERRORS.error('INSUFFICIENT_CAPACITY', `This CRN cannot reserve the requested resources at this time: ${failure}`);
    const gpus = content.requirements?.gpu ?? [];
    if (Array.isArray(gpus) && gpus.length > 0) {
      return reply.status(400).send({ status: 'error', error: 'Failed to reserves all resources', reason: 'This node has no GPU to reserve' });
    }
    const answer: ReservationAnswer = { status: 'reserved', expires: new Date(Date.now() + RESERVATION_SECONDS * 1000).toISOString() };
    return answer;
  });
}
