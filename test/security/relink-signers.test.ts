/**
 * Who may push a CRN its allocations, when the CRN is not told (no authorizedAllocationSigners):
 * the CCN the registry links it to, read from its CCNs and re-read. End to end with a real CCN
 * process (A, holding the registry; its scheduler off so that only this test pushes) and a real
 * CRN process (A1), pushes signed and bound to A1 as a CCN signs them:
 * - a registered CCN (M) that A1 is not linked to is refused (401);
 * - A1's owner re-links it from A to M: M's pushes are accepted, and A (the CCN it was re-linked
 *   AWAY from) is refused from then on. With a fixed signer list (what the devnet configured
 *   before), the old CCN kept control of a CRN that was no longer its own;
 * - every CCN of A1's list unreachable: the last answer stays (M accepted, A refused), it never
 *   falls back to a wider set.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EthAccount } from '@aleph-nodes/protocol';
import { PushError, pushAllocations } from '../../packages/ccn/src/scheduler/crn-client.ts';
import { startCcnProcess } from '../ccn/helpers/ccn-process.ts';
import { eventually } from '../helpers/eventually.ts';
import { prepareCcn, prepareCrn, registryOperation, startCrnNode, stopCrn, TAG, type CcnNodeProc, type CrnNodeProc } from '../network/helpers/ccn-network.ts';

describe('allocation signers follow the registry link', { timeout: 300_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), 'relink-signers-'));
  const crnOwner = EthAccount.generate();
  const M = EthAccount.generate();
  let A: CcnNodeProc;
  let A1: CrnNodeProc;
  const iats = new Map<string, number>();
  const empty = { persistent_vms: [], instances: [] };

  /** A push bound to A1, with an iat that only goes forward per signer. */
  async function push(signer: EthAccount): Promise<number> {
    const iat = Math.max(Math.floor(Date.now() / 1000), (iats.get(signer.address) ?? 0) + 1);
    iats.set(signer.address, iat);
    try {
      return (await pushAllocations(signer, A1.url, empty, 30_000, { crnHash: A1.hash, iat })).status;
    } catch (err) {
      if (err instanceof PushError) {
        const m = /answered (\d{3})/.exec(err.message);
        if (m) return Number(m[1]);
      }
      throw err;
    }
  }

  before(async () => {
    A = await prepareCcn(root, 'ccn-a', EthAccount.generate());
    A.proc = await startCcnProcess(
      { port: A.port, keyFile: A.keyFile, registryTag: TAG, ccnOwnerMinBalance: 0, stakerMinBalance: 0, ccnActivationStake: 0, scoringEnabled: false, schedulerEnabled: false },
      A.dataDir,
    );
    A1 = await prepareCrn(root, 'crn-a1', '127.0.0.51', [A.url]);
    await startCrnNode(A1);
    A.hash = await registryOperation([A.url], A.key, 'create-node', { details: { name: 'ccn-a', multiaddress: '' } });
    await registryOperation([A.url], M, 'create-node', { details: { name: 'ccn-m', multiaddress: '' } });
    A1.hash = await registryOperation([A.url], crnOwner, 'create-resource-node', { details: { name: 'crn-a1', address: A1.url, type: 'compute' } });
    await registryOperation([A.url], A.key, 'link', { ref: A1.hash });
  });

  after(async () => {
    try {
      await stopCrn(A1).catch(() => undefined);
      await A?.proc?.stop().catch(() => undefined);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('accepts the linked CCN and refuses another registered CCN', async () => {
    assert.equal(await push(A.key), 200);
    assert.equal(await push(M), 401);
  });

  it('after a re-link, the new CCN is accepted and the old one refused', async () => {
    await registryOperation([A.url], crnOwner, 'unlink', { ref: A1.hash });
    await registryOperation([A.url], M, 'link', { ref: A1.hash });
    // A push from an unknown signer makes the CRN read the registry again (at most every 5 s, so
    // that refused pushes cannot make it hammer its CCN); M retries as the pusher does.
    await eventually('M to be accepted', 30_000, async () => (await push(M)) === 200);
    assert.equal(await push(A.key), 401, 'the CCN A1 was re-linked away from has no say any more');
  });

  it('with its CCNs unreachable, the CRN keeps the last answer and never widens it', async () => {
    await A.proc?.stop();
    // Past the refresh period (5 s in this CRN's settings): the read fails, the last answer stays.
    await new Promise((r) => setTimeout(r, 6_000));
    assert.equal(await push(M), 200);
    assert.equal(await push(A.key), 401);
  });
});
