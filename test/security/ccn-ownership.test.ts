/**
 * The ownership class on the CCN: against a real CCN process, with the
 * official SDK unchanged. A victim publishes a program, a post and a file; an attacker tries to
 * act on them: a STORE whose `ref` is the victim's program (which CRNs read as "this execution was
 * amended" and stop), an amend of the victim's post (as itself and as the victim), FORGETs of the
 * victim's messages and aggregate. Each is rejected with its reason, visible at
 * /api/v0/messages/{hash}, and the victim's messages stay processed. A delegate authorized by the
 * victim's `security` aggregate for `blog` posts may post, amend and forget those, nothing more.
 *
 * Before the fix, the CCN accepted the STORE with the program as `ref` (processed).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { AuthenticatedAlephHttpClient } from '@aleph-sdk/client';
import { importAccountFromPrivateKey } from '@aleph-sdk/ethereum';
import { ItemType } from '@aleph-sdk/message';
import { buildInlineMessage, EthAccount, sha256Hex } from '@aleph-nodes/protocol';
import { startCcnProcess, type CcnProcess } from '../ccn/helpers/ccn-process.ts';
import { eventually } from '../helpers/eventually.ts';

const PERMISSION_DENIED = 2;

interface StatusBody {
  status: string;
  error_code?: number;
  details?: { errors: string[] } | null;
  message?: { content?: { content?: unknown } };
}

interface Party {
  client: AuthenticatedAlephHttpClient;
  address: string;
  /** The same key, for what the SDK cannot send. */
  key: EthAccount;
}

function newParty(url: string): Party {
  const key = `0x${randomBytes(32).toString('hex')}`;
  const account = importAccountFromPrivateKey(key);
  return { client: new AuthenticatedAlephHttpClient(account, url), address: account.address, key: EthAccount.fromPrivateKey(key) };
}

/**
 * A STORE with a top-level `ref`, uploaded with its file the way the SDK uploads (multipart
 * `metadata` + `file`). The SDK itself puts `extraFields` under `extra_fields`, so it cannot set
 * `ref`; an attacker writes the message by hand.
 */
async function storeWithRef(url: string, party: Party, ref: string, address?: string): Promise<string> {
  const bytes = new TextEncoder().encode(`update of ${ref} by ${party.address} ${Math.random()}`);
  const message = buildInlineMessage(party.key, 'STORE', { item_type: 'storage', item_hash: sha256Hex(bytes), ref }, { channel: 'SEC', ...(address ? { address } : {}) });
  const form = new FormData();
  form.append('metadata', JSON.stringify({ message, sync: false }));
  form.append('file', new Blob([bytes]));
  const res = await fetch(`${url}/api/v0/storage/add_file`, { method: 'POST', body: form });
  assert.ok(res.status === 200 || res.status === 202, `upload answered ${res.status}`);
  return message.item_hash;
}

describe('CCN ownership: nobody acts on what they do not own', () => {
  let ccn: CcnProcess;
  let victim: Party;
  let attacker: Party;
  let delegate: Party;
  let program: string;
  let note: string;
  let blog: string;
  let file: string;

  /** The settled status of a message (after processing and any retries). */
  const settled = (hash: string): Promise<StatusBody> =>
    eventually('the message to leave pending', 60_000, async () => {
      const res = await fetch(`${ccn.url}/api/v0/messages/${hash}`);
      if (res.status !== 200) return undefined;
      const body = (await res.json()) as StatusBody;
      return body.status === 'pending' ? undefined : body;
    });

  const assertRejected = async (hash: string, code: number, reason: RegExp): Promise<void> => {
    const body = await settled(hash);
    assert.equal(body.status, 'rejected', `${hash} should be rejected`);
    assert.equal(body.error_code, code);
    assert.match(body.details?.errors.join(' ') ?? '', reason);
  };

  before(async () => {
    ccn = await startCcnProcess();
    victim = newParty(ccn.url);
    attacker = newParty(ccn.url);
    delegate = newParty(ccn.url);
    const runtime = await victim.client.createStore({ fileObject: new Blob([new TextEncoder().encode('runtime')]), storageEngine: ItemType.storage, channel: 'SEC', sync: true });
    program = (
      await victim.client.createProgram({
        file: new Blob([new TextEncoder().encode('PK victim program')]),
        entrypoint: 'main:app',
        runtime: runtime.item_hash,
        storageEngine: ItemType.storage,
        channel: 'SEC',
        isPersistent: true,
      })
    ).item_hash;
    note = (await victim.client.createPost({ postType: 'note', content: { text: 'mine' }, channel: 'SEC', sync: true })).item_hash;
    blog = (await victim.client.createPost({ postType: 'blog', content: { text: 'v1' }, channel: 'SEC', sync: true })).item_hash;
    file = (await victim.client.createStore({ fileObject: new Blob([new TextEncoder().encode('victim file')]), storageEngine: ItemType.storage, channel: 'SEC', sync: true })).item_hash;
    await victim.client.createAggregate({ key: 'settings', content: { theme: 'dark' }, channel: 'SEC', sync: true });
    await victim.client.createAggregate({
      key: 'security',
      content: { authorizations: [{ address: delegate.address, types: ['POST'], post_types: ['blog'] }] },
      channel: 'SEC',
      sync: true,
    });
    for (const hash of [program, note, blog, file]) assert.equal((await settled(hash)).status, 'processed');
  });
  after(async () => {
    await ccn?.stop();
  });

  it("refuses a STORE whose ref is someone else's program (it would stop that program on its CRN)", async () => {
    await assertRejected(await storeWithRef(ccn.url, attacker, program), PERMISSION_DENIED, /cannot update \(STORE ref\) .* belongs to/);
    // The same in the victim's name, and aimed at the victim's file: refused alike.
    await assertRejected(await storeWithRef(ccn.url, attacker, program, victim.address), PERMISSION_DENIED, /may not act for/);
    await assertRejected(await storeWithRef(ccn.url, attacker, file), PERMISSION_DENIED, /belongs to/);
    // A hash in capitals still names the program.
    await assertRejected(await storeWithRef(ccn.url, attacker, program.toUpperCase()), PERMISSION_DENIED, /belongs to/);
    assert.equal((await settled(program)).status, 'processed');
  });

  it("refuses an amend of someone else's post, as itself or in the owner's name", async () => {
    const asItself = await attacker.client.createPost({ postType: 'amend', ref: note, content: { text: 'defaced' }, channel: 'SEC' });
    await assertRejected(asItself.item_hash, PERMISSION_DENIED, /cannot amend/);
    const asVictim = await attacker.client.createPost({ postType: 'amend', ref: note, address: victim.address, content: { text: 'defaced' }, channel: 'SEC' });
    await assertRejected(asVictim.item_hash, PERMISSION_DENIED, /may not amend/);
    const posts = (await (await fetch(`${ccn.url}/api/v0/posts.json?hashes=${note}`)).json()) as { posts: { content: unknown }[] };
    assert.deepEqual(posts.posts[0]?.content, { text: 'mine' });
  });

  it("refuses a FORGET of someone else's program, post or aggregate", async () => {
    const forgetProgram = await attacker.client.forget({ hashes: [program], channel: 'SEC' });
    await assertRejected(forgetProgram.item_hash, PERMISSION_DENIED, /may not forget/);
    const forgetPost = await attacker.client.forget({ hashes: [note], address: victim.address, channel: 'SEC' });
    await assertRejected(forgetPost.item_hash, PERMISSION_DENIED, /may not forget/);
    // The SDK's forget takes hashes only: the aggregate FORGET is written by hand.
    const forgetAggregate = buildInlineMessage(attacker.key, 'FORGET', { hashes: [], aggregates: ['settings'] }, { address: victim.address, channel: 'SEC' });
    const sent = await fetch(`${ccn.url}/api/v0/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sync: false, message: forgetAggregate }) });
    assert.equal(sent.status, 202);
    await assertRejected(forgetAggregate.item_hash, PERMISSION_DENIED, /may not forget/);
    for (const hash of [program, note]) assert.equal((await settled(hash)).status, 'processed');
    const aggregate = (await (await fetch(`${ccn.url}/api/v0/aggregates/${victim.address}.json?keys=settings`)).json()) as { data: unknown };
    assert.deepEqual(aggregate.data, { settings: { theme: 'dark' } });
  });

  it('lets a delegate do what the owner authorized (blog posts), and nothing more', async () => {
    const post = await delegate.client.createPost({ postType: 'blog', address: victim.address, content: { text: 'by the delegate' }, channel: 'SEC' });
    assert.equal((await settled(post.item_hash)).status, 'processed');
    const amend = await delegate.client.createPost({ postType: 'amend', ref: blog, address: victim.address, content: { text: 'v2' }, channel: 'SEC' });
    assert.equal((await settled(amend.item_hash)).status, 'processed');
    const forget = await delegate.client.forget({ hashes: [post.item_hash], channel: 'SEC' });
    assert.equal((await settled(forget.item_hash)).status, 'processed');
    assert.equal((await settled(post.item_hash)).status, 'forgotten');

    const amendNote = await delegate.client.createPost({ postType: 'amend', ref: note, address: victim.address, content: { text: 'no' }, channel: 'SEC' });
    await assertRejected(amendNote.item_hash, PERMISSION_DENIED, /may not amend/);
    const forgetProgram = await delegate.client.forget({ hashes: [program], channel: 'SEC' });
    await assertRejected(forgetProgram.item_hash, PERMISSION_DENIED, /may not forget/);
    await assertRejected(await storeWithRef(ccn.url, delegate, file, victim.address), PERMISSION_DENIED, /may not act for/);
    const grantItself = await delegate.client.createAggregate({ key: 'security', address: victim.address, content: { authorizations: [{ address: delegate.address }] }, channel: 'SEC' });
    await assertRejected(grantItself.item_hash, PERMISSION_DENIED, /may not act for/);
    for (const hash of [program, note, file]) assert.equal((await settled(hash)).status, 'processed');
  });
});
