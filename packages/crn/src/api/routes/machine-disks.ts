/**
 * Owner operations on a workload's disks (aleph-vm 1.14 `views/operator.py`):
 * - `POST /control/machine/{ref}/reinstall[?erase_volumes=false]`: back to its initial state — stopped,
 *   its root disk (instances) and, unless `erase_volumes=false`, its persistent volumes erased,
 *   then started again (the root disk is copied anew from its parent image). `200 Reinstalled VM
 *   with ref <ref>`.
 * - backup (`POST|GET /control/machine/{ref}/backup`, `GET|DELETE …/backup/{id}`) and
 *   `POST …/restore`: aleph-vm copies QEMU qcow2 disks while the QEMU guest agent freezes the guest's
 *   file systems, and restores qcow2 uploads. Our instance disks are raw ext4 images and our guests
 *   have no QEMU guest agent: after the owner checks, these answer 400 `BACKUP_UNSUPPORTED`, as
 *   aleph-vm answers for a VM it cannot back up ("Backup only supported for QEMU VMs").
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CRN_ERRORS } from '../../errors.ts';
import { removeInstanceData } from '../../execution/instance-disk.ts';
import { executorIdOf } from '../../execution/launch-spec.ts';
import type { ApiContext } from '../context.ts';

type RefRequest = FastifyRequest<{ Params: { ref: string } }>;

/** Checks the owner's signatures and ownership of `ref` and spends the operation. */
export type AuthorizeRef = (request: RefRequest) => Promise<string>;

export function machineDiskRoutes(app: FastifyInstance, ctx: ApiContext, authorize: AuthorizeRef): void {
  app.post<{ Params: { ref: string }; Querystring: { erase_volumes?: string } }>('/control/machine/:ref/reinstall', async (request, reply) => {
    const ref = await authorize(request);
    const eraseVolumes = request.query.erase_volumes !== 'false';
    const known = ctx.supervisor.find(ref);
    const vmType = known?.vmType ?? ctx.records.get(ref)?.vmType;
    // Held as an owner stop while the disks go: neither a push, a request nor a restart can start
    // it on a half-erased disk. The owner start below clears it.
    await ctx.supervisor.ownerStop(ref);
    const id = executorIdOf(ref);
    if (vmType === 'instance') removeInstanceData(join(ctx.config.dataDir, 'instances'), id);
    if (eraseVolumes) rmSync(join(ctx.config.dataDir, 'volumes', id), { recursive: true, force: true });
    request.log.info({ ref, eraseVolumes }, 'reinstalling');
    await ctx.supervisor.ownerStart(ref, false);
    return reply.type('text/plain').send(`Reinstalled VM with ref ${ref}`);
  });

  const unsupported = async (request: RefRequest): Promise<never> => {
    await authorize(request);
    throw CRN_ERRORS.error('BACKUP_UNSUPPORTED');
  };
  app.post('/control/machine/:ref/backup', unsupported);
  app.get('/control/machine/:ref/backup', unsupported);
  // The presigned download needs no owner headers in aleph-vm: there is nothing to download here.
  app.get('/control/machine/:ref/backup/:backupId', async () => {
    throw CRN_ERRORS.error('BACKUP_UNSUPPORTED');
  });
  app.delete('/control/machine/:ref/backup/:backupId', unsupported);
  app.post('/control/machine/:ref/restore', unsupported);
}
