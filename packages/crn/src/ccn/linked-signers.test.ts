/** The allocation signers from the registry: who links this node, found by hash or by domain; the last answer survives an unreachable CCN. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { silentLogger } from '@aleph-nodes/service';
import { CcnError } from './ccn-client.ts';
import { LinkedSigners, linkOf } from './linked-signers.ts';

const OWNER = '0x1111111111111111111111111111111111111111';
const MANAGER = '0x2222222222222222222222222222222222222222';
const OTHER = '0x3333333333333333333333333333333333333333';
const [CCN_A, CCN_B, ME] = ['a', 'b', 'c'].map((c) => c.repeat(64)) as [string, string, string];

const registry = (parent: string | null, status = 'linked') => ({
  nodes: [
    { hash: CCN_A, owner: OWNER, manager: MANAGER },
    { hash: CCN_B, owner: OTHER, manager: OTHER },
  ],
  resource_nodes: [
    { hash: ME, address: 'https://crn.example.org', status, parent },
    { hash: 'd'.repeat(64), address: 'https://other.example.org', status: 'linked', parent: CCN_B },
  ],
});

describe('linkOf', () => {
  it('finds this node by hash or by its address host, and names its CCN owner and manager', () => {
    assert.deepEqual(linkOf(registry(CCN_A), { nodeHash: ME, domain: 'x' }), { linked: true, parent: CCN_A, signers: [OWNER, MANAGER] });
    assert.deepEqual(linkOf(registry(CCN_A), { nodeHash: '', domain: 'CRN.example.org' }), { linked: true, parent: CCN_A, signers: [OWNER, MANAGER] });
    assert.deepEqual(linkOf(registry(CCN_B), { nodeHash: ME, domain: 'x' }), { linked: true, parent: CCN_B, signers: [OTHER] }, 're-linked: the new CCN');
  });

  it('says why when not linked, not registered or ambiguous', () => {
    assert.equal(linkOf(registry(null, 'waiting'), { nodeHash: ME, domain: '' }).linked, false);
    assert.equal(linkOf(registry(CCN_A), { nodeHash: 'e'.repeat(64), domain: '' }).linked, false);
    assert.equal(linkOf(registry(CCN_A), { nodeHash: '', domain: 'unknown.org' }).linked, false);
    const twice = registry(CCN_A);
    twice.resource_nodes.push({ hash: 'f'.repeat(64), address: 'http://crn.example.org:4021', status: 'linked', parent: CCN_B });
    const r = linkOf(twice, { nodeHash: '', domain: 'crn.example.org' });
    assert.equal(r.linked, false);
    assert.match(r.linked ? '' : r.why, /set nodeHash/);
    assert.throws(() => linkOf({ nodes: 'x' }, { nodeHash: ME, domain: '' }));
  });
});

describe('LinkedSigners', () => {
  it('re-reads after the refresh period, keeps the last answer when no CCN answers, and re-reads at once on demand', async () => {
    let answer: unknown = registry(CCN_A);
    let reads = 0;
    const ccn = {
      getJson: async () => {
        reads++;
        if (answer instanceof Error) throw answer;
        return answer;
      },
    };
    const signers = new LinkedSigners(ccn, { nodeHash: ME, domain: '' }, 50, silentLogger(), 0);
    assert.deepEqual(await signers.link(), { linked: true, parent: CCN_A, signers: [OWNER, MANAGER] });
    await signers.link();
    assert.equal(reads, 1, 'cached within the refresh period');
    answer = new CcnError('UNREACHABLE', 'all CCNs down');
    await new Promise((r) => setTimeout(r, 60));
    assert.deepEqual(await signers.link(), { linked: true, parent: CCN_A, signers: [OWNER, MANAGER] }, 'the last answer stays');
    answer = registry(CCN_B);
    assert.deepEqual(await signers.reread(), { linked: true, parent: CCN_B, signers: [OTHER] });
  });

  it('is unknown (undefined) when never read, and unlinked when the CCN has no registry route', async () => {
    const down = new LinkedSigners({ getJson: async () => Promise.reject(new CcnError('UNREACHABLE', 'down')) }, { nodeHash: ME, domain: '' }, 1000, silentLogger());
    assert.equal(await down.link(), undefined);
    const reference = new LinkedSigners({ getJson: async () => Promise.reject(new CcnError('NOT_FOUND', '404')) }, { nodeHash: ME, domain: '' }, 1000, silentLogger());
    assert.equal((await reference.link())?.linked, false);
  });
});
