/** Push delivery: back-off retries, latest-set retries (no duplicates), one push in flight, the signed wire format. */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { EthAccount, MemoryReplayGuard, verifyAllocationRequest } from '@aleph-nodes/protocol';
import { silentLogger } from '@aleph-nodes/service';
import { AllocationPusher, retryDelayMs, type PushFn } from './allocation-pusher.ts';
import { ALLOCATIONS_PATH } from '@aleph-nodes/protocol';
import { PushError, pushAllocations, type DesiredSet, type PushAnswer } from './crn-client.ts';
import { until } from '../testing/until.ts';

const X = 'a'.repeat(64);
const Y = 'b'.repeat(64);
const set = (...persistent: string[]): DesiredSet => ({ persistent_vms: persistent, instances: [] });
const ok = (s: DesiredSet): PushAnswer => ({ status: 200, successful: [...s.persistent_vms, ...s.instances], failing: [], stopped: [], errors: {} });


describe('retryDelayMs', () => {
  it('doubles from the base up to the cap', () => {
    const s = { retryBaseMs: 1000, retryMaxMs: 30_000 };
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map((n) => retryDelayMs(n, s)), [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]);
  });
});

describe('AllocationPusher', () => {
  it('retries a failed push with back-off until the CRN takes it', async () => {
    const sent: DesiredSet[] = [];
    const failures: number[] = [];
    const push: PushFn = async (_url, s) => {
      sent.push(s);
      if (sent.length <= 3) throw new PushError('connection refused');
      return ok(s);
    };
    let delivered: DesiredSet | undefined;
    const pusher = new AllocationPusher(push, { retryBaseMs: 5, retryMaxMs: 20 }, { delivered: (_c, s) => void (delivered = s), failed: (_c, _e, delay) => failures.push(delay) }, silentLogger());
    pusher.setDesired('crn', 'http://crn', set(X));
    await until(() => delivered !== undefined, 'delivery');
    assert.equal(sent.length, 4);
    assert.deepEqual(failures, [5, 10, 20]);
    assert.deepEqual(delivered, set(X));
    assert.equal(pusher.status('crn')?.delivered, true);
    assert.equal(pusher.status('crn')?.failures, 0);
    await pusher.close();
  });

  it('a retry sends the latest desired set, never the one that failed (a moved workload is not resurrected)', async () => {
    const sent: DesiredSet[] = [];
    let crnUp = false;
    const push: PushFn = async (_url, s) => {
      sent.push(s);
      if (!crnUp) throw new PushError('unreachable');
      return ok(s);
    };
    const pusher = new AllocationPusher(push, { retryBaseMs: 20, retryMaxMs: 20 }, { delivered: () => undefined }, silentLogger());
    pusher.setDesired('crn', 'http://crn', set(X, Y));
    await until(() => sent.length === 1 && pusher.status('crn')?.state === 'waiting-retry', 'first failure');
    // X moved to another CRN while this one was unreachable.
    pusher.setDesired('crn', 'http://crn', set(Y));
    crnUp = true;
    await until(() => pusher.status('crn')?.delivered === true, 'delivery');
    assert.deepEqual(sent.slice(1), [set(Y)]);
    assert.ok(sent.slice(1).every((s) => !s.persistent_vms.includes(X)));
    await pusher.close();
  });

  it('keeps one push in flight per CRN and sends the newest set after it', async () => {
    const sent: DesiredSet[] = [];
    let inflight = 0;
    let maxInflight = 0;
    let release: (() => void) | undefined;
    const push: PushFn = async (_url, s) => {
      inflight += 1;
      maxInflight = Math.max(maxInflight, inflight);
      sent.push(s);
      await new Promise<void>((r) => (release = r));
      inflight -= 1;
      return ok(s);
    };
    const pusher = new AllocationPusher(push, { retryBaseMs: 5, retryMaxMs: 5 }, { delivered: () => undefined }, silentLogger());
    pusher.setDesired('crn', 'http://crn', set(X));
    await until(() => sent.length === 1, 'first push');
    pusher.setDesired('crn', 'http://crn', set(X, Y));
    pusher.setDesired('crn', 'http://crn', set(Y));
    release?.();
    await until(() => sent.length === 2, 'second push');
    release?.();
    await until(() => pusher.status('crn')?.delivered === true && pusher.status('crn')?.state === 'idle', 'delivery');
    assert.equal(maxInflight, 1);
    assert.deepEqual(sent, [set(X), set(Y)]);
    await pusher.close();
  });

  it('does not re-push an acknowledged set unless forced, and spaces pushes by a second (replay protection)', async () => {
    const seconds: number[] = [];
    const push: PushFn = async (_url, s) => {
      seconds.push(Math.floor(Date.now() / 1000));
      return ok(s);
    };
    const pusher = new AllocationPusher(push, { retryBaseMs: 5, retryMaxMs: 5 }, { delivered: () => undefined }, silentLogger());
    pusher.setDesired('crn', 'http://crn', set(X));
    await until(() => pusher.status('crn')?.delivered === true, 'delivery');
    pusher.setDesired('crn', 'http://crn', set(X));
    assert.equal(pusher.status('crn')?.state, 'idle');
    pusher.setDesired('crn', 'http://crn', set(X), { force: true });
    await until(() => seconds.length === 2 && pusher.status('crn')?.state === 'idle', 'forced push');
    assert.equal(seconds.length, 2);
    assert.ok((seconds[1] as number) > (seconds[0] as number), 'the second push is signed in a later second');
    await pusher.close();
  });

  it('signs for the CRN it pushes to, with iats the CRN accepts: never older, the same set never twice at one iat', async () => {
    const guard = new MemoryReplayGuard();
    const signed: { crnHash: string; iat: number; key: string }[] = [];
    const refused: string[] = [];
    const push: PushFn = async (_url, s, signing) => {
      const key = JSON.stringify(s);
      signed.push({ ...signing, key });
      // What a CRN decides (the digest stands for the signed payload: set + iat).
      if (!guard.accept(signing.crnHash, signing.iat, `${key}@${signing.iat}`)) refused.push(key);
      return ok(s);
    };
    const pusher = new AllocationPusher(push, { retryBaseMs: 5, retryMaxMs: 5 }, { delivered: () => undefined }, silentLogger());
    // X, then Y, then X again, quickly: X must not be signed twice with one iat.
    pusher.setDesired('crn-a', 'http://a', set(X));
    await until(() => pusher.status('crn-a')?.state === 'idle', 'first push');
    pusher.setDesired('crn-a', 'http://a', set(Y));
    await until(() => pusher.status('crn-a')?.state === 'idle', 'second push');
    pusher.setDesired('crn-a', 'http://a', set(X));
    await until(() => signed.length === 3 && pusher.status('crn-a')?.state === 'idle', 'third push');
    assert.deepEqual(refused, []);
    assert.ok(signed.every((p) => p.crnHash === 'crn-a'));
    assert.ok((signed[1]?.iat as number) >= (signed[0]?.iat as number) && (signed[2]?.iat as number) > (signed[0]?.iat as number));
    await pusher.close();
  });
});

describe('pushAllocations', () => {
  it('sends the set signed Aleph-EIP191-V1 by the CCN key, as the CRN verifies it', async () => {
    const account = EthAccount.generate();
    const replay = new MemoryReplayGuard();
    const crnHash = 'c'.repeat(64);
    const seen: { signer: string; body: unknown }[] = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        try {
          const { signer } = verifyAllocationRequest(
            { authorization: req.headers.authorization ?? '', method: req.method ?? '', path: req.url ?? '', hasQuery: false, contentLength: Number(req.headers['content-length']), body },
            { authorizedSigners: [account.address], replay, self: { nodeHash: crnHash, domain: '127.0.0.1' } },
          );
          const parsed = JSON.parse(body.toString()) as DesiredSet;
          seen.push({ signer, body: parsed });
          res.writeHead(207, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ success: false, successful: parsed.persistent_vms, failing: parsed.instances, stopped: [], errors: Object.fromEntries(parsed.instances.map((h) => [h, 'boom'])) }));
        } catch (err) {
          res.writeHead(401, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: (err as Error).message }));
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const answer = await pushAllocations(account, url, { persistent_vms: [X], instances: [Y] }, 5000, { crnHash });
      assert.equal(answer.status, 207);
      assert.deepEqual(answer.failing, [Y]);
      assert.deepEqual(answer.errors, { [Y]: 'boom' });
      assert.deepEqual(seen, [{ signer: account.address.toLowerCase(), body: { persistent_vms: [X], instances: [Y] } }]);
      // A key the CRN does not trust is refused: a PushError, so the pusher retries.
      await assert.rejects(pushAllocations(EthAccount.generate(), url, set(X), 5000, { crnHash }), (err: Error) => err instanceof PushError && /answered 401/.test(err.message));
      // A push signed for another CRN is refused by this one.
      await assert.rejects(pushAllocations(account, url, set(X), 5000, { crnHash: 'd'.repeat(64) }), (err: Error) => err instanceof PushError && /answered 401/.test(err.message));
      assert.equal(ALLOCATIONS_PATH, '/control/allocations');
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('an unreachable CRN is a PushError', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    await new Promise((r) => server.close(r));
    await assert.rejects(pushAllocations(EthAccount.generate(), `http://127.0.0.1:${port}`, set(X), 2000, { crnHash: 'c'.repeat(64) }), PushError);
  });
});
