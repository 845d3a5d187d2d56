/**
 * Owner operations signed by a Solana wallet against a real CCN and CRN (aleph-vm accepts ETH
 * and SOL owner keys): a Solana key the owner's `security` aggregate authorizes stops the owner's
 * program; a stranger's Solana key is 403; a Solana key header with a forged signature is 401.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { OwnerSession, SolanaAccount } from '@aleph-nodes/protocol';
import { ECHO_PROGRAM, startNodes, type Nodes } from './helpers/nodes.ts';
import { eventually } from '../helpers/eventually.ts';

const DOMAIN = '127.0.0.1';

async function running(url: string, ref: string): Promise<boolean> {
  const list = (await (await fetch(`${url}/about/executions/list`)).json()) as Record<string, unknown>;
  return ref in list;
}

function headers(session: OwnerSession, method: string, path: string): Record<string, string> {
  return { 'X-SignedPubKey': session.signedPubKey, 'X-SignedOperation': session.signOperation({ method, path, domain: DOMAIN }) };
}

describe('owner operations of a Solana wallet', { timeout: 120_000 }, () => {
  let nodes: Nodes;
  let program = '';
  const delegate = SolanaAccount.generate();

  before(async () => {
    nodes = await startNodes();
    program = await nodes.publishProgram(ECHO_PROGRAM);
    await nodes.client.createAggregate({ key: 'security', content: { authorizations: [{ address: delegate.address }] }, channel: 'TEST', sync: true });
  });
  after(async () => {
    await nodes?.close();
  });

  it('a stranger\'s Solana key is refused (403) and a forged one (401); the authorized one stops the program', async () => {
    const url = nodes.crn.url;
    assert.equal((await fetch(`${url}/vm/${program}/`)).status, 200);
    const stopPath = `/control/machine/${program}/stop`;

    const stranger = new OwnerSession(SolanaAccount.generate(), DOMAIN);
    const refused = await fetch(`${url}${stopPath}`, { method: 'POST', headers: headers(stranger, 'POST', stopPath) });
    assert.equal(refused.status, 403, await refused.text());

    // The delegate's address in a key header signed by the stranger.
    const genuine = new OwnerSession(delegate, DOMAIN);
    const forgedEnv = JSON.parse(genuine.signedPubKey) as { payload: string; signature: string };
    const strangerEnv = JSON.parse(stranger.signedPubKey) as { signature: string };
    const forged = { 'X-SignedPubKey': JSON.stringify({ ...forgedEnv, signature: strangerEnv.signature }), 'X-SignedOperation': genuine.signOperation({ method: 'POST', path: stopPath, domain: DOMAIN }) };
    const forgedRes = await fetch(`${url}${stopPath}`, { method: 'POST', headers: forged });
    assert.equal(forgedRes.status, 401, await forgedRes.text());
    assert.equal(await running(url, program), true);

    const ok = await fetch(`${url}${stopPath}`, { method: 'POST', headers: headers(genuine, 'POST', stopPath) });
    assert.equal(ok.status, 200, await ok.text());
    await eventually('the program to stop', 20_000, async () => !(await running(url, program)));
  });
});
