/**
 * Attack: anyone stopped anyone's execution. A STORE whose `ref` names another
 * owner's program was accepted by the CCN, and the CRN stopped the named execution as
 * "amended" on the websocket's word. Here the victim's on-demand program runs; an attacker
 * publishes a STORE with `ref` = the victim's program, one with `ref` = the victim's code, a
 * STORE claiming the victim's address, a PROGRAM "amend" and a FORGET naming the victim's hash.
 * What the CCN accepts reaches the CRN through the CCN's websocket; what it refuses is pushed by
 * a relay that passes everything on: the CRN hears every one of them. The victim's execution
 * keeps running (same boot id). The owner's own amend still stops it, and the next request
 * starts it again.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ItemType } from '@aleph-sdk/message';
import { makeZip } from '../../packages/crn/src/testing/zip.ts';
import { ECHO_PROGRAM } from '../crn/helpers/nodes.ts';
import { eventually } from '../helpers/eventually.ts';
import { deliver, listed, signed, startCrnUnderAttack, visit, type CrnUnderAttack } from './helpers/crn-under-attack.ts';

describe('security: a stranger cannot stop or amend an execution (hole 3)', () => {
  let env: CrnUnderAttack;
  before(async () => {
    env = await startCrnUnderAttack({ idleTimeoutSeconds: 3600, unpaidIdleTimeoutSeconds: 3600 });
  });
  after(async () => {
    await env?.close();
  });

  it("ignores an attacker's STORE ref, PROGRAM amend and FORGET naming the victim's program; the owner's amend still acts", async () => {
    const victim = await env.publish(env.owner, ECHO_PROGRAM);
    const first = await visit(env, victim);
    assert.equal(first.status, 200);
    const boot = first.body.boot;
    assert.equal(typeof boot, 'string');
    const program = await env.owner.getMessage(victim);
    const content = program.content as unknown as Record<string, unknown> & { code: { ref: string } };

    // The attacker's own file, so that its STOREs are otherwise valid.
    const file = await env.attacker.createStore({ fileObject: new Blob([new TextEncoder().encode('attacker')]), storageEngine: ItemType.storage, channel: 'TEST', sync: true });
    const fileHash = (file.content as unknown as { item_hash: string }).item_hash;
    const { address: _a, time: _t, ...programFields } = content;
    const attacks = [
      signed(env.attackerAccount, 'STORE', { item_type: 'storage', item_hash: fileHash, ref: victim }),
      signed(env.attackerAccount, 'STORE', { item_type: 'storage', item_hash: fileHash, ref: content.code.ref }),
      signed(env.attackerAccount, 'STORE', { item_type: 'storage', item_hash: fileHash, ref: victim }, env.ownerAccount.address),
      signed(env.attackerAccount, 'PROGRAM', { ...programFields, ref: victim }),
      signed(env.attackerAccount, 'FORGET', { hashes: [victim], aggregates: [], reason: 'hijack' }),
    ];
    // Today's CCN accepts the plain STORE refs (relayed by its websocket); the rest are pushed by
    // the relay. The CRN must hold either way.
    for (const message of attacks) await deliver(env, message);

    // The CRN logs each attack it ignores; on the earlier code the victim stopped instead.
    const ignored = (hash: string): boolean => env.logs.some((l) => l.level >= 40 && l.item_hash === hash && /^ignored/.test(l.msg));
    await eventually('the CRN to decide on every attack', 30_000, async () => attacks.every((m) => ignored(m.item_hash)) || !(await listed(env, victim)));
    assert.equal(await listed(env, victim), true, 'the victim still runs');
    const after = await visit(env, victim);
    assert.equal(after.status, 200);
    assert.equal(after.body.boot, boot, 'same boot: the victim was never stopped');
    for (const m of attacks) {
      const line = env.logs.find((l) => l.item_hash === m.item_hash && /^ignored/.test(l.msg));
      assert.ok(line, `attack ${m.type} ${m.item_hash} logged as ignored`);
    }

    // The owner's own update (a STORE amending the program's code STORE, the way owners update
    // code; a STORE naming the program itself is refused by the CCN, as by pyaleph) stops it; the
    // next request restarts it.
    const update = makeZip([{ name: 'main.mjs', data: `${ECHO_PROGRAM}\n// updated by its owner\n`, deflate: true }]);
    const ownFile = await env.owner.createStore({ fileObject: new Blob([update]), storageEngine: ItemType.storage, channel: 'TEST', sync: true });
    const ownHash = (ownFile.content as unknown as { item_hash: string }).item_hash;
    assert.equal(await deliver(env, signed(env.ownerAccount, 'STORE', { item_type: 'storage', item_hash: ownHash, ref: content.code.ref })), true);
    await eventually("the owner's amend to stop the execution", 30_000, async () => !(await listed(env, victim)));
    const restarted = await visit(env, victim);
    assert.equal(restarted.status, 200);
    assert.notEqual(restarted.body.boot, boot, 'a new boot after the owner amended it');
  });
});
