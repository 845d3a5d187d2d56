/**
 * `POST /control/machine/{ref}/update` (aleph-vm 1.14 `operate_update`, open as there): the owner
 * changed the instance's `port-forwarding` aggregate; the node re-reads it. aleph-vm rewrites its
 * nftables rules in place; our backends apply port forwards when the VM boots, so an instance whose
 * wanted forwards differ from the ones it runs with is restarted (its disk stays), and the new host
 * ports are in `/v2/about/executions/list` once it is up. Nothing changes when the forwards are
 * the same or the aggregate cannot be read, so this open route cannot be used to restart anyone's
 * VM at will: only the owner's aggregate decides.
 * Answers: `{}` once applied; `{"status": "ok", "msg": "VM not starting yet"}` when it does not
 * run (it reads the aggregate when it starts); 404 for an execution the node does not know.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isItemHash, type UpdateAnswer } from '@aleph-nodes/protocol';
import type { PortForward } from '@aleph-nodes/vmm';
import { CRN_ERRORS } from '../../errors.ts';
import { ownerPortForwards } from '../../execution/prepare-instance.ts';
import type { ApiContext } from '../context.ts';
import { knownExecutionOwner } from '../owner-auth.ts';

const SSH_PORT = 22;

/** `guestPort:tcp:udp` of each forward, sorted: what a change compares (host ports are the node's). */
function shape(forwards: Iterable<[number, { tcp: boolean; udp: boolean }]>): string {
  return [...forwards].map(([port, p]) => `${port}:${p.tcp}:${p.udp}`).sort().join(',');
}

export function machineUpdateRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.post('/control/machine/:ref/update', async (request: FastifyRequest<{ Params: { ref: string } }>): Promise<UpdateAnswer> => {
    const ref = request.params.ref;
    if (!isItemHash(ref)) throw CRN_ERRORS.error('INVALID_REF');
    const { owner, exec } = knownExecutionOwner(ctx, ref);
    if (!exec?.live || !exec.handle) return { status: 'ok', msg: 'VM not starting yet' };
    const network = exec.handle.network;
    if (exec.vmType !== 'instance' || !network) return {};
    const desired = await ownerPortForwards(ctx.ccn, owner, ref);
    if (!desired) return {};
    desired.set(SSH_PORT, { tcp: true, udp: desired.get(SSH_PORT)?.udp ?? false });
    const current = network.portForwards.map((f: PortForward): [number, { tcp: boolean; udp: boolean }] => [f.guestPort, { tcp: f.tcp, udp: f.udp }]);
    if (shape(desired) === shape(current)) return {};
    request.log.info({ ref }, 'port forwarding changed: restarting the instance to apply it');
    await ctx.supervisor.stopExecution(exec, 'port forwarding changed');
    await ctx.supervisor.ensurePersistent(ref, exec.message);
    return {};
  });
}
