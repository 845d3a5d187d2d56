/**
 * Attack: FORGET did not stick on the CRN. Its message cache still served the
 * forgotten program, so the next request started it again. Here the owner forgets a running
 * program: it stops, and every later start is refused with 410 (a visitor's request, a signed
 * allocation push), also after the CRN restarts. A CRN that missed the FORGET on the websocket
 * refuses too: it checks the message's status with the CCN before an on-demand start.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EthAccount, signAllocationRequest } from '@aleph-nodes/protocol';
import { ECHO_PROGRAM } from '../crn/helpers/nodes.ts';
import { eventually } from '../helpers/eventually.ts';
import { listed, startCrnUnderAttack, visit, type CrnUnderAttack, type ErrorBody } from './helpers/crn-under-attack.ts';

const scheduler = EthAccount.generate();

async function push(env: CrnUnderAttack, persistent: string[]): Promise<{ status: number; body: { failing: string[]; errors: Record<string, string> } }> {
  const body = JSON.stringify({ persistent_vms: persistent, instances: [] });
  const res = await fetch(`${env.crn.url}/control/allocations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: signAllocationRequest(scheduler, { method: 'POST', path: '/control/allocations', body, iat: Math.floor(Date.now() / 1000), target: { nodeHash: null, url: env.crn.url } }) },
    body,
  });
  return { status: res.status, body: (await res.json()) as { failing: string[]; errors: Record<string, string> } };
}

function assertGone(answer: { status: number; body: Record<string, unknown> }): void {
  assert.equal(answer.status, 410, JSON.stringify(answer.body));
  const { error } = answer.body as unknown as ErrorBody;
  assert.equal(error.code, 'MESSAGE_RETIRED');
  assert.match(error.message, /forgotten/);
}

describe('security: a forgotten program never runs again on the CRN (hole 9)', () => {
  let env: CrnUnderAttack;
  before(async () => {
    env = await startCrnUnderAttack({ authorizedAllocationSigners: [scheduler.address], idleTimeoutSeconds: 3600, unpaidIdleTimeoutSeconds: 3600 });
  });
  after(async () => {
    await env?.close();
  });

  it('stops it, refuses requests and allocation pushes with 410, also after a restart of the CRN', async () => {
    const program = await env.publish(env.owner, ECHO_PROGRAM);
    assert.equal((await visit(env, program)).status, 200);
    assert.equal(await listed(env, program), true);

    await env.owner.forget({ hashes: [program], channel: 'TEST', sync: true });
    await eventually('the FORGET to stop the execution', 30_000, async () => !(await listed(env, program)));

    assertGone(await visit(env, program));
    assertGone(await visit(env, program, 'again'));
    assert.equal(await listed(env, program), false, 'the requests did not start it');
    const pushed = await push(env, [program]);
    assert.deepEqual(pushed.body.failing, [program]);
    assert.match(pushed.body.errors[program] ?? '', /MESSAGE_RETIRED/);
    assert.equal(await listed(env, program), false, 'the allocation push did not start it');

    await env.restartCrn();
    assertGone(await visit(env, program));
    assert.equal(await listed(env, program), false);
  });
});

describe('security: a CRN that missed the FORGET checks the status before starting (hole 9)', () => {
  let env: CrnUnderAttack;
  before(async () => {
    // No websocket, no status poll: only the check before an on-demand start can know.
    env = await startCrnUnderAttack({ messageWatch: false, statusPollSeconds: 0, messageStatusCacheSeconds: 0, idleTimeoutSeconds: 1 });
  });
  after(async () => {
    await env?.close();
  });

  it('refuses to start a forgotten program it still has in its message cache', async () => {
    const program = await env.publish(env.owner, ECHO_PROGRAM);
    assert.equal((await visit(env, program)).status, 200);
    await eventually('the idle stop', 30_000, async () => !(await listed(env, program)));
    await env.owner.forget({ hashes: [program], channel: 'TEST', sync: true });
    assertGone(await visit(env, program));
    assert.equal(await listed(env, program), false);
  });
});
