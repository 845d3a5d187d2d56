/**
 * Messages heard on the CCN's websocket, with real signed messages (the CCN's answers for
 * status and aggregates are given by the test): only verified messages whose sender may act for
 * the execution's owner act, and a FORGET only once the CCN says the target is forgotten.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildInlineMessage, EthAccount } from '@aleph-nodes/protocol';
import { silentLogger } from '@aleph-nodes/service';
import { CcnClient } from '../ccn/ccn-client.ts';
import { HeardMessages, targetsOf, type HeardMessageDeps } from './heard-messages.ts';

const owner = EthAccount.generate();
const attacker = EthAccount.generate();
const delegate = EthAccount.generate();
const VICTIM = 'a1'.repeat(32);
const CODE = 'c0'.repeat(32);
const FILE = 'f0'.repeat(32);

interface World {
  status?: string;
  security?: Record<string, unknown>;
}

function setup(world: World): { heard: HeardMessages; acts: [string, string][]; verified: () => number } {
  const acts: [string, string][] = [];
  // Inline messages verify offline: no CCN is reached by verify().
  const real = new CcnClient('http://127.0.0.1:9');
  let verified = 0;
  const deps: HeardMessageDeps = {
    ccn: {
      verify: (raw) => {
        verified++;
        return real.verify(raw);
      },
      getStatus: async () => world.status,
      getAggregate: async () => world.security,
    },
    ownerOf: (ref) => (ref === VICTIM ? owner.address : undefined),
    live: () => [{ ref: VICTIM, owner: owner.address, codeRef: CODE }],
    retire: async (ref, why) => {
      acts.push([ref, why]);
    },
    logger: silentLogger(),
  };
  return { heard: new HeardMessages(deps), acts, verified: () => verified };
}

/** A signed message as the CCN's websocket sends it (with its parsed `content`). */
function frame(account: EthAccount, type: 'STORE' | 'FORGET', content: Record<string, unknown>, address?: string): Record<string, unknown> {
  const message = buildInlineMessage(account, type, content, address ? { address } : {});
  return { ...message, content: JSON.parse(message.item_content as string) as unknown };
}
const store = (account: EthAccount, ref: string, address?: string) => frame(account, 'STORE', { item_type: 'storage', item_hash: FILE, ref }, address);
const forget = (account: EthAccount, hashes: string[], address?: string) => frame(account, 'FORGET', { hashes, aggregates: [] }, address);

describe('messages heard from the CCN', () => {
  it('reads targets defensively', () => {
    assert.deepEqual(targetsOf('FORGET', { hashes: [VICTIM, 42] }), { kind: 'forget', refs: [VICTIM] });
    assert.deepEqual(targetsOf('STORE', { ref: VICTIM }), { kind: 'amend', refs: [VICTIM] });
    assert.equal(targetsOf('POST', { ref: VICTIM }), undefined);
    assert.equal(targetsOf('FORGET', 'x'), undefined);
  });

  it("ignores an attacker's amend or FORGET naming the owner's execution", async () => {
    const { heard, acts } = setup({ status: 'forgotten' });
    await heard.handle(store(attacker, VICTIM));
    await heard.handle(store(attacker, CODE));
    await heard.handle(forget(attacker, [VICTIM]));
    // Claiming the owner's address does not help: the signer is what counts.
    await heard.handle(store(attacker, VICTIM, owner.address));
    assert.deepEqual(acts, []);
  });

  it('ignores messages that fail verification, and does not verify what concerns nothing here', async () => {
    const { heard, acts, verified } = setup({ status: 'forgotten' });
    const tampered = store(owner, VICTIM);
    tampered.signature = `0x${'00'.repeat(65)}`;
    await heard.handle(tampered);
    const unrelated = store(owner, 'b2'.repeat(32));
    await heard.handle(unrelated);
    assert.deepEqual(acts, []);
    assert.equal(verified(), 1);
  });

  it("acts on the owner's amend, and on its FORGET once the CCN confirms it", async () => {
    const world: World = { status: 'processed' };
    const { heard, acts } = setup(world);
    await heard.handle(store(owner, VICTIM));
    await heard.handle(forget(owner, [VICTIM]));
    assert.deepEqual(acts, [[VICTIM, 'amended']]);
    world.status = 'forgotten';
    await heard.handle(forget(owner, [VICTIM]));
    await heard.handle(forget(owner, [CODE]));
    assert.deepEqual(acts, [
      [VICTIM, 'amended'],
      [VICTIM, 'forgotten'],
      [VICTIM, 'code forgotten'],
    ]);
  });

  it("acts for a delegate the owner's security aggregate authorizes for that type", async () => {
    const world: World = { status: 'forgotten', security: { authorizations: [{ address: delegate.address, types: ['STORE'] }] } };
    const { heard, acts } = setup(world);
    await heard.handle(forget(delegate, [VICTIM], owner.address));
    assert.deepEqual(acts, []);
    await heard.handle(store(delegate, VICTIM, owner.address));
    assert.deepEqual(acts, [[VICTIM, 'amended']]);
  });
});
