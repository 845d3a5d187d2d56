/**
 * Sets of valid signed messages that interact in every way the order-independence rules cover
 * (for the property test of processing/convergence.fuzz.test.ts): aggregates with equal and
 * different times, a `security` grant and revocation with a delegate's messages around them,
 * posts and amends (ties included), STOREs with updates, programs using and replacing each
 * other, FORGETs of every kind (of posts, amends, STOREs in use, programs, aggregate keys, a
 * FORGET, an unknown hash; by the owner, the delegate, a stranger), balance reports from the
 * indexer (equal heights), registry operations and score posts.
 */
import { buildInlineMessage, EthAccount, sha256Hex, type AlephMessage } from '@aleph-nodes/protocol';
import fc from 'fast-check';
import type { RegistrySettings } from '../registry/types.ts';

export const T0 = 1_700_000_000;
export const REGISTRY_TAG = 'order-test';

/** The actors (fixed keys: signing is the slow part, key generation is not repeated). */
export interface Cast {
  alice: EthAccount;
  bob: EthAccount;
  delegate: EthAccount;
  stranger: EthAccount;
  indexer: EthAccount;
  scorer: EthAccount;
}

export function newCast(): Cast {
  return {
    alice: EthAccount.generate(),
    bob: EthAccount.generate(),
    delegate: EthAccount.generate(),
    stranger: EthAccount.generate(),
    indexer: EthAccount.generate(),
    scorer: EthAccount.generate(),
  };
}

export function registrySettings(cast: Cast): RegistrySettings {
  return {
    tag: REGISTRY_TAG,
    maxLinkedCrns: 2,
    ccnOwnerMinBalance: 10,
    stakerMinBalance: 1,
    ccnActivationStake: 5,
    balanceIndexers: [cast.indexer.address],
    scoresSenders: [cast.scorer.address],
  };
}

const dt = fc.integer({ min: 0, max: 4 });
const pick = fc.nat({ max: 1000 });
const who = fc.constantFrom('owner' as const, 'delegate' as const, 'stranger' as const);

export const specArb = fc.record({
  aggregates: fc.array(
    fc.record({ bob: fc.boolean(), key: fc.constantFrom('k1', 'k2'), dt, fields: fc.dictionary(fc.constantFrom('a', 'b', 'c'), fc.nat({ max: 3 }), { maxKeys: 2 }) }),
    { maxLength: 5 },
  ),
  grant: fc.option(dt, { nil: undefined }),
  revoke: fc.option(dt, { nil: undefined }),
  delegated: fc.array(fc.record({ aggregate: fc.boolean(), dt }), { maxLength: 3 }),
  posts: fc.array(fc.record({ bob: fc.boolean(), dt, blog: fc.boolean() }), { minLength: 1, maxLength: 3 }),
  amends: fc.array(fc.record({ post: pick, dt, by: who }), { maxLength: 4 }),
  stores: fc.array(fc.record({ dt, file: fc.nat({ max: 2 }), ref: fc.option(pick, { nil: undefined }) }), { minLength: 1, maxLength: 3 }),
  programs: fc.array(fc.record({ dt, code: pick, runtime: pick, replaces: fc.option(pick, { nil: undefined }) }), { maxLength: 3 }),
  forgets: fc.array(fc.record({ dt: fc.integer({ min: 0, max: 6 }), by: who, targets: fc.array(pick, { minLength: 1, maxLength: 2 }), aggregate: fc.option(fc.constantFrom('k1', 'k2'), { nil: undefined }) }), {
    maxLength: 4,
  }),
  balances: fc.array(fc.record({ dt, height: fc.nat({ max: 1 }), alice: fc.integer({ min: 0, max: 20 }), bob: fc.integer({ min: 0, max: 20 }) }), { maxLength: 3 }),
  registry: fc.record({ createNode: dt, createCrn: dt, link: dt, stake: dt, amendNode: fc.option(dt, { nil: undefined }) }),
  scores: fc.array(fc.record({ dt, period: fc.nat({ max: 2 }), score: fc.constantFrom(0, 0.5, 0.9) }), { maxLength: 2 }),
  /** Files whose bytes reach each node only after some messages (a late upload or fetch). */
  lateFiles: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
});

export type Spec = typeof specArb extends fc.Arbitrary<infer T> ? T : never;

export interface Scenario {
  messages: AlephMessage[];
  /** File bytes by hash; `late` ones arrive in the middle of the messages. */
  files: { hash: string; bytes: Uint8Array; late: boolean }[];
}

const at = (d: number): number => T0 + 10 + d;

/** Builds the signed messages of a spec (targets before what names them; arrival order is the test's). */
export function buildScenario(cast: Cast, spec: Spec): Scenario {
  const { alice, bob, delegate, stranger, indexer, scorer } = cast;
  const out: AlephMessage[] = [];
  const add = (m: AlephMessage): AlephMessage => {
    out.push(m);
    return m;
  };
  const files = [0, 1, 2].map((i) => {
    const bytes = new TextEncoder().encode(`file ${i} of ${alice.address}`);
    return { hash: sha256Hex(bytes), bytes, late: spec.lateFiles[i] ?? false };
  });
  const nth = <T>(list: readonly T[], i: number): T | undefined => (list.length === 0 ? undefined : list[i % list.length]);

  for (const a of spec.aggregates) add(buildInlineMessage(a.bob ? bob : alice, 'AGGREGATE', { key: a.key, content: a.fields }, { time: at(a.dt) }));
  const grant = { authorizations: [{ address: delegate.address, types: ['POST', 'AGGREGATE'], post_types: ['blog'], aggregate_keys: ['k1'] }] };
  if (spec.grant !== undefined) add(buildInlineMessage(alice, 'AGGREGATE', { key: 'security', content: grant }, { time: at(spec.grant) }));
  if (spec.revoke !== undefined) add(buildInlineMessage(alice, 'AGGREGATE', { key: 'security', content: { authorizations: [] } }, { time: at(spec.revoke) + 0.5 }));
  spec.delegated.forEach((d, i) => {
    if (d.aggregate) add(buildInlineMessage(delegate, 'AGGREGATE', { key: 'k1', content: { d: i } }, { time: at(d.dt), address: alice.address }));
    else add(buildInlineMessage(delegate, 'POST', { type: 'blog', content: { d: i } }, { time: at(d.dt), address: alice.address }));
  });
  const posts = spec.posts.map((p, i) => add(buildInlineMessage(p.bob ? bob : alice, 'POST', { type: p.blog ? 'blog' : 'note', content: { v: i } }, { time: at(p.dt) })));
  const amends = spec.amends.map((a, i) => {
    const post = nth(posts, a.post) as AlephMessage;
    const owner = JSON.parse(post.item_content as string).address as string;
    const signer = a.by === 'owner' ? (owner === bob.address ? bob : alice) : a.by === 'delegate' ? delegate : stranger;
    return add(buildInlineMessage(signer, 'POST', { type: 'amend', ref: post.item_hash, content: { amended: i } }, { time: at(a.dt) + 0.25, address: owner }));
  });
  const stores: AlephMessage[] = [];
  spec.stores.forEach((s) => {
    const ref = s.ref === undefined ? undefined : nth(stores, s.ref);
    const refContent = ref ? (JSON.parse(ref.item_content as string) as { ref?: string }) : undefined;
    const refField = ref && refContent?.ref === undefined ? { ref: ref.item_hash } : {};
    stores.push(add(buildInlineMessage(alice, 'STORE', { item_type: 'storage', item_hash: (files[s.file] as { hash: string }).hash, ...refField }, { time: at(s.dt) })));
  });
  const programs: AlephMessage[] = [];
  spec.programs.forEach((p) => {
    const code = nth(stores, p.code) as AlephMessage;
    const runtime = nth(stores, p.runtime) as AlephMessage;
    const replaced = p.replaces === undefined ? undefined : nth(programs, p.replaces);
    programs.push(
      add(
        buildInlineMessage(
          alice,
          'PROGRAM',
          {
            type: 'vm-function',
            allow_amend: true,
            on: { http: true, persistent: false },
            runtime: { ref: runtime.item_hash, use_latest: true, comment: '' },
            code: { encoding: 'zip', entrypoint: 'main:app', ref: code.item_hash, use_latest: false },
            ...(replaced ? { replaces: replaced.item_hash } : {}),
          },
          { time: at(p.dt) + 0.75 },
        ),
      ),
    );
  });
  const unknown = sha256Hex(`never sent ${alice.address}`);
  const forgets: AlephMessage[] = [];
  for (const f of spec.forgets) {
    const pool = [...posts, ...amends, ...stores, ...programs, ...forgets, ...out.filter((m) => m.type === 'AGGREGATE')];
    const hashes = f.targets.map((t) => (t % 7 === 6 ? unknown : (nth(pool, t) as AlephMessage).item_hash));
    const signer = f.by === 'owner' ? alice : f.by === 'delegate' ? delegate : stranger;
    forgets.push(add(buildInlineMessage(signer, 'FORGET', { hashes: [...new Set(hashes)], aggregates: f.aggregate ? [f.aggregate] : [] }, { time: at(f.dt) + 0.5, address: alice.address })));
  }
  for (const b of spec.balances) {
    add(
      buildInlineMessage(indexer, 'POST', { type: 'balances-update', content: { chain: 'ETH', main_height: b.height, balances: { [alice.address]: b.alice, [bob.address]: b.bob } } }, { time: at(b.dt) }),
    );
  }
  const r = spec.registry;
  const op = (signer: EthAccount, d: number, action: string, ref?: string, details: Record<string, unknown> = {}): AlephMessage =>
    add(buildInlineMessage(signer, 'POST', { type: 'corechan-operation', ...(ref ? { ref } : {}), content: { action, tags: [REGISTRY_TAG], details } }, { time: at(d) + 1 }));
  const node = op(alice, r.createNode, 'create-node', undefined, { name: 'ccn', multiaddress: '/ip4/10.0.0.1/tcp/4025' });
  const crn = op(bob, r.createCrn, 'create-resource-node', undefined, { name: 'crn', type: 'compute', address: 'https://crn.example' });
  op(alice, r.link, 'link', crn.item_hash);
  op(bob, r.stake, 'stake', node.item_hash);
  if (r.amendNode !== undefined) {
    add(buildInlineMessage(alice, 'POST', { type: 'amend', ref: node.item_hash, content: { action: 'create-node', tags: [REGISTRY_TAG], details: { name: 'renamed' } } }, { time: at(r.amendNode) + 1.5 }));
  }
  for (const s of spec.scores) {
    const period = { from_date: T0 + s.period * 3600, to_date: T0 + (s.period + 1) * 3600 };
    const entry = (id: string) => ({ node_id: id, total_score: s.score, performance: s.score, version: 1, decentralization: 1, measurements: {} });
    add(buildInlineMessage(scorer, 'POST', { type: 'aleph-scoring-scores', content: { version: '1.1', tags: [REGISTRY_TAG], period, scores: { ccn: [entry(node.item_hash)], crn: [entry(crn.item_hash)] } } }, { time: at(s.dt) + 2 }));
  }
  return { messages: out, files };
}
