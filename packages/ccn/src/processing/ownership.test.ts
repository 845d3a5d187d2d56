/**
 * The ownership table (issue 12): every message that acts on another one, sent by the owner, by a
 * delegate whose authorization matches, by a delegate whose authorization does not, and by a
 * stranger (writing as the owner, or as itself), through the real processor on each database.
 * A refused action leaves its target processed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ALEPH_ERROR, buildInlineMessage, EthAccount, sha256Hex, type AlephMessage } from '@aleph-nodes/protocol';
import { silentLogger } from '@aleph-nodes/service';
import { ccnConfig } from '../config.ts';
import { ENGINES, openTestStores, type TestStores } from '../testing/engines.ts';
import { MessageProcessor } from './processor.ts';

type Actor = 'owner' | 'delegate' | 'wrong-delegate' | 'stranger-as-owner' | 'stranger';
const ACTORS: readonly Actor[] = ['owner', 'delegate', 'wrong-delegate', 'stranger-as-owner', 'stranger'];
const OK = 'processed';
const DENIED = ALEPH_ERROR.PERMISSION_DENIED;

interface Row {
  name: string;
  /** The owner's authorization of the matching delegate, and of the non-matching one. */
  grant: Record<string, unknown>;
  wrongGrant: Record<string, unknown>;
  /** Publishes the owner's target; returns its hash. */
  target(t: Kit): Promise<string>;
  /** The acting message: `sender` signs it, writing as `address`. */
  act(t: Kit, sender: EthAccount, address: string, target: string): Promise<AlephMessage>;
  expect: Record<Actor, typeof OK | number>;
}

interface Kit {
  owner: EthAccount;
  /** The owner's `security` aggregate element. */
  security: string;
  run(m: AlephMessage): Promise<string>;
  file(label: string): Promise<string>;
}

/** A message time no other message of the same content shares. */
const unique = (): number => Date.now() / 1000 + Math.random() / 1000;

const program = (codeRef: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  type: 'vm-function',
  allow_amend: true,
  on: { http: true },
  runtime: { ref: codeRef, use_latest: true, comment: '' },
  code: { encoding: 'zip', entrypoint: 'main:app', ref: codeRef, use_latest: false },
  ...extra,
});

async function ownStore(t: Kit, label: string, ref?: string): Promise<string> {
  const store = buildInlineMessage(t.owner, 'STORE', { item_type: 'storage', item_hash: await t.file(label), ...(ref ? { ref } : {}) });
  assert.equal(await t.run(store), OK);
  return store.item_hash;
}

const ROWS: Row[] = [
  {
    name: 'POST amend',
    grant: { types: ['POST'], post_types: ['note'] },
    wrongGrant: { types: ['POST'], post_types: ['blog'] },
    async target(t) {
      const post = buildInlineMessage(t.owner, 'POST', { type: 'note', content: 'v1' });
      assert.equal(await t.run(post), OK);
      return post.item_hash;
    },
    act: async (_t, sender, address, target) => buildInlineMessage(sender, 'POST', { type: 'amend', ref: target, content: 'v2' }, { address, time: unique() }),
    expect: { owner: OK, delegate: OK, 'wrong-delegate': DENIED, 'stranger-as-owner': DENIED, stranger: DENIED },
  },
  {
    name: 'STORE ref to a STORE',
    grant: { types: ['STORE'] },
    wrongGrant: { types: ['POST'] },
    target: (t) => ownStore(t, 'original'),
    act: async (t, sender, address, target) =>
      buildInlineMessage(sender, 'STORE', { item_type: 'storage', item_hash: await t.file(`update by ${sender.address}`), ref: target }, { address }),
    expect: { owner: OK, delegate: OK, 'wrong-delegate': DENIED, 'stranger-as-owner': DENIED, stranger: DENIED },
  },
  {
    // Consumers read a STORE with a ref as an update of the referenced message: aimed at a
    // program, it would stop it. Nobody may, not even its owner (not a STORE: 200).
    name: 'STORE ref to a PROGRAM',
    grant: { types: ['STORE', 'PROGRAM'] },
    wrongGrant: { types: ['STORE'] },
    async target(t) {
      const code = await ownStore(t, 'code');
      const vm = buildInlineMessage(t.owner, 'PROGRAM', program(code));
      assert.equal(await t.run(vm), OK);
      return vm.item_hash;
    },
    act: async (t, sender, address, target) =>
      buildInlineMessage(sender, 'STORE', { item_type: 'storage', item_hash: await t.file(`stop by ${sender.address}`), ref: target }, { address }),
    expect: {
      owner: ALEPH_ERROR.STORE_REF_NOT_FOUND,
      delegate: ALEPH_ERROR.STORE_REF_NOT_FOUND,
      'wrong-delegate': DENIED,
      'stranger-as-owner': DENIED,
      stranger: DENIED,
    },
  },
  {
    name: 'STORE ref to an update',
    grant: { types: ['STORE'] },
    wrongGrant: { types: ['POST'] },
    async target(t) {
      return ownStore(t, 'first update', await ownStore(t, 'base'));
    },
    act: async (t, sender, address, target) =>
      buildInlineMessage(sender, 'STORE', { item_type: 'storage', item_hash: await t.file(`chain by ${sender.address}`), ref: target }, { address }),
    expect: {
      owner: ALEPH_ERROR.STORE_UPDATE_OF_UPDATE,
      delegate: ALEPH_ERROR.STORE_UPDATE_OF_UPDATE,
      'wrong-delegate': DENIED,
      'stranger-as-owner': DENIED,
      stranger: DENIED,
    },
  },
  {
    name: 'PROGRAM replaces',
    grant: { types: ['PROGRAM'] },
    wrongGrant: { types: ['STORE'] },
    async target(t) {
      const vm = buildInlineMessage(t.owner, 'PROGRAM', program(await ownStore(t, 'code')));
      assert.equal(await t.run(vm), OK);
      return vm.item_hash;
    },
    act: async (t, sender, address, target) =>
      buildInlineMessage(sender, 'PROGRAM', program(await ownStore(t, `code for ${sender.address}`), { replaces: target }), { address }),
    expect: { owner: OK, delegate: OK, 'wrong-delegate': DENIED, 'stranger-as-owner': DENIED, stranger: DENIED },
  },
  {
    name: 'FORGET of a message',
    grant: { types: ['POST'] },
    wrongGrant: { types: ['AGGREGATE'] },
    async target(t) {
      const post = buildInlineMessage(t.owner, 'POST', { type: 'note', content: 'to forget' });
      assert.equal(await t.run(post), OK);
      return post.item_hash;
    },
    act: async (_t, sender, address, target) => buildInlineMessage(sender, 'FORGET', { hashes: [target] }, { address, time: unique() }),
    expect: { owner: OK, delegate: OK, 'wrong-delegate': DENIED, 'stranger-as-owner': DENIED, stranger: DENIED },
  },
  {
    name: 'FORGET of an aggregate key',
    grant: { types: ['AGGREGATE'], aggregate_keys: ['settings'] },
    wrongGrant: { types: ['AGGREGATE'], aggregate_keys: ['profile'] },
    async target(t) {
      const element = buildInlineMessage(t.owner, 'AGGREGATE', { key: 'settings', content: { theme: 'dark' } });
      assert.equal(await t.run(element), OK);
      return element.item_hash;
    },
    act: async (_t, sender, address) => buildInlineMessage(sender, 'FORGET', { hashes: [], aggregates: ['settings'] }, { address, time: unique() }),
    // The stranger writing as itself names its own (absent) key: nothing of the owner's is touched.
    expect: { owner: OK, delegate: OK, 'wrong-delegate': DENIED, 'stranger-as-owner': DENIED, stranger: ALEPH_ERROR.FORGET_TARGET_NOT_FOUND },
  },
  {
    // A delegate could otherwise strip the owner's other delegations (or its own limits).
    name: 'FORGET of the security aggregate',
    grant: {},
    wrongGrant: { types: ['POST'] },
    target: async (t) => t.security,
    act: async (_t, sender, address, target) => buildInlineMessage(sender, 'FORGET', { hashes: [target] }, { address, time: unique() }),
    expect: { owner: OK, delegate: DENIED, 'wrong-delegate': DENIED, 'stranger-as-owner': DENIED, stranger: DENIED },
  },
];

for (const engine of ENGINES) {
  describe(`ownership table (${engine})`, () => {
    let test: TestStores;
    let processor: MessageProcessor;

    before(async () => {
      test = await openTestStores(engine);
      processor = new MessageProcessor(test.stores, ccnConfig({ dataDir: test.dataDir, retryBaseMs: 5, retryMaxMs: 20, maxRetries: 2, paymentChecks: false }), silentLogger());
      processor.start();
    });
    after(async () => {
      await processor.stop();
      await test.dispose();
    });

    const run = async (m: AlephMessage): Promise<string> => {
      await processor.submit(m);
      return processor.waitFor(m.item_hash, 20_000);
    };
    const file = async (label: string): Promise<string> => {
      const bytes = new TextEncoder().encode(`${label} ${Math.random()}`);
      const hash = sha256Hex(bytes);
      test.stores.fileStore.commit(await test.stores.fileStore.stageBytes(bytes), hash);
      await test.stores.files.upsert(hash, 'storage', bytes.length, Date.now() / 1000, Date.now() / 1000 + 600);
      return hash;
    };

    for (const row of ROWS) {
      for (const actor of ACTORS) {
        const expected = row.expect[actor];
        it(`${row.name} by the ${actor}: ${expected === OK ? 'processed' : `rejected (${expected})`}`, async () => {
          const owner = EthAccount.generate();
          const delegate = EthAccount.generate();
          const wrongDelegate = EthAccount.generate();
          const stranger = EthAccount.generate();
          const security = buildInlineMessage(owner, 'AGGREGATE', {
            key: 'security',
            content: {
              authorizations: [
                { address: delegate.address, ...row.grant },
                { address: wrongDelegate.address, ...row.wrongGrant },
              ],
            },
          });
          assert.equal(await run(security), OK);
          const kit: Kit = { owner, security: security.item_hash, run, file };
          const target = await row.target(kit);
          const [sender, address] = {
            owner: [owner, owner.address],
            delegate: [delegate, owner.address],
            'wrong-delegate': [wrongDelegate, owner.address],
            'stranger-as-owner': [stranger, owner.address],
            stranger: [stranger, stranger.address],
          }[actor] as [EthAccount, string];
          const acting = await row.act(kit, sender, address, target);
          const status = await run(acting);
          const stored = await test.stores.messages.get(acting.item_hash);
          if (expected === OK) {
            assert.equal(status, 'processed', `${stored?.error_code}: ${stored?.error_details}`);
          } else {
            assert.equal(status, 'rejected');
            assert.equal(stored?.error_code, expected, String(stored?.error_details));
            assert.ok((stored?.error_details ?? '').length > 0);
            // What the refused message aimed at is untouched.
            assert.equal((await test.stores.messages.get(target))?.status, 'processed');
          }
        });
      }
    }
  });
}
