/**
 * Attack: unpaid capacity. Any on-demand program reserved vCPUs and memory for the
 * idle timeout (1 h), so one owner with a few program hashes and one GET each could fill a CRN.
 * Here one owner requests more programs than its share: beyond the per-owner caps the requests
 * are refused with 429 and the limit named, while another owner's program still starts and the
 * network monitor's diagnostic program (exempt) too; the unpaid programs stop after the short
 * idle timeout, and then the owner may start others.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ECHO_PROGRAM } from '../crn/helpers/nodes.ts';
import { eventually } from '../helpers/eventually.ts';
import { listed, startCrnUnderAttack, visit, type CrnUnderAttack, type ErrorBody } from './helpers/crn-under-attack.ts';

describe('security: one owner cannot fill a CRN with unpaid on-demand programs (hole 5)', () => {
  let env: CrnUnderAttack;
  before(async () => {
    // 8 vCPUs and 4 GiB to hand out; the default shares give one owner 2 vCPUs and 1 GiB.
    env = await startCrnUnderAttack({ capacityVcpus: 8, capacityMemoryMib: 4096, reservedMemoryMib: 0, idleTimeoutSeconds: 3600, unpaidIdleTimeoutSeconds: 15 });
  });
  after(async () => {
    await env?.close();
  });

  it("refuses the owner's programs beyond its share, starts another owner's, and stops unpaid ones sooner", async () => {
    const hog = await Promise.all([1, 2, 3].map((n) => env.publish(env.owner, ECHO_PROGRAM, { variables: { FOO: `hog-${n}` } })));
    const diagnostic = await env.publish(env.owner, ECHO_PROGRAM, { variables: { FOO: 'diagnostic' } });
    const other = await env.publish(env.attacker, ECHO_PROGRAM, { variables: { FOO: 'other owner' } });
    // This node's diagnostic program (as the monitor's is on a real network).
    await env.restartCrn({ diagnosticPrograms: [diagnostic] });
    const [p1, p2, p3] = hog as [string, string, string];

    assert.equal((await visit(env, p1)).status, 200);
    assert.equal((await visit(env, p2)).status, 200);
    assert.equal(await listed(env, p1), true);
    const refused = await visit(env, p3);
    assert.equal(refused.status, 429, JSON.stringify(refused.body));
    const { error } = refused.body as unknown as ErrorBody;
    assert.equal(error.code, 'OWNER_LIMIT');
    assert.match(error.message, /ownerOnDemandVcpusShare/);
    assert.match(error.message, new RegExp(env.ownerAccount.address, 'i'));
    assert.equal(await listed(env, p3), false, 'nothing was reserved for the refused program');

    const others = await visit(env, other);
    assert.equal(others.status, 200, "another owner's program starts");
    const diag = await visit(env, diagnostic);
    assert.equal(diag.status, 200, 'the diagnostic program is exempt from the caps');

    // Unpaid programs stop after the short idle timeout; the diagnostic one stays warm.
    await eventually('the unpaid programs to stop when idle', 60_000, async () => !(await listed(env, p1)) && !(await listed(env, p2)) && !(await listed(env, other)));
    assert.equal(await listed(env, diagnostic), true, 'the diagnostic program keeps the normal idle timeout');
    assert.equal((await visit(env, p3)).status, 200, 'with its programs stopped, the owner may start another');
  });
});
