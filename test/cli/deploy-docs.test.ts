/**
 * What the install guide and the deploy examples tell an operator to expose and keep: the Caddy
 * example keeps /metrics private and /control/allocations to the linked CCN; the firewall advice
 * opens 80/443 and keeps 4020/4024 closed; backups include the CRN's data; there is an upgrade
 * and rollback path; the guide's commands exist with the flags it uses.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

const caddy = readFileSync('deploy/caddy/Caddyfile', 'utf8');
const guide = readFileSync('docs/install-debian-12.md', 'utf8');
/** The guide's section whose heading matches. */
function section(heading: RegExp): string {
  const parts = guide.split(/^(?=##+ )/m);
  const found = parts.find((p) => heading.test(p.split('\n')[0] ?? ''));
  assert.ok(found, `a section ${heading}`);
  return found;
}
/** Active (uncommented) site blocks of the Caddyfile, by their address line. */
function siteBlocks(): Map<string, string> {
  const active = caddy.split('\n').filter((l) => !l.trimStart().startsWith('#')).join('\n');
  const blocks = new Map<string, string>();
  for (const m of active.matchAll(/^(\S[^{\n]*)\{\n([\s\S]*?)^\}/gm)) blocks.set((m[1] ?? '').trim(), m[2] ?? '');
  return blocks;
}

describe('deploy examples and the install guide', () => {
  it('the Caddy example does not publish /metrics and limits /control/allocations', () => {
    const crn = siteBlocks().get('crn.example.org, *.crn.example.org');
    assert.ok(crn, 'the CRN site');
    const proxyAt = crn.indexOf('reverse_proxy');
    assert.match(crn.slice(0, proxyAt), /@metrics path \/metrics/);
    assert.match(crn.slice(0, proxyAt), /respond @metrics 404/);
    assert.match(crn.slice(0, proxyAt), /path \/control\/allocations\s+not remote_ip/);
    assert.match(crn.slice(0, proxyAt), /respond @allocations_from_elsewhere 403/);
    // The commented CCN site keeps its /metrics private too.
    assert.match(caddy, /# ccn\.example\.org \{\n#\s+@metrics path \/metrics/);
  });

  it('the firewall advice opens 80/443 and keeps 4020/4024 closed', () => {
    const fw = section(/Firewall/);
    assert.match(fw, /80\/tcp, 443\/tcp \| everyone/);
    assert.match(fw, /4020\/tcp, 4024\/tcp \| \*\*nobody\*\*/);
    assert.match(fw, /tcp dport '\{ 4020, 4024 \}' drop/);
  });

  it('backups cover both nodes, the CRN data included; an upgrade and rollback path exists', () => {
    const backup = section(/Back up/);
    assert.match(backup, /\| CRN \| `\/var\/lib\/aleph-nodes\/crn\/node\.key`/);
    assert.match(backup, /\| CRN \| `\/var\/lib\/aleph-nodes\/crn\/` \(records database, volumes\)/);
    assert.match(backup, /\| CCN \| `\/var\/lib\/aleph-nodes\/ccn\/`/);
    const upgrade = section(/Upgrade and roll back/);
    assert.match(upgrade, /git checkout <new release tag>/);
    assert.match(upgrade, /--print-config/);
    assert.match(upgrade, /To roll back/);
  });

  it('the guide installs production hosts with a production role and says what a dev network changes', () => {
    assert.match(section(/Install the software/), /setup-debian\.sh --role crn/);
    const dev = section(/development network and the real network/);
    for (const setting of ['registryTag', 'ccnOwnerMinBalance', 'stakerMinBalance', 'ccnActivationStake', 'balanceIndexers']) assert.match(dev, new RegExp(`\`${setting}\``));
    assert.match(dev, /199,999 ALEPH/);
  });
});
