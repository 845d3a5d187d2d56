import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { silentLogger } from '@aleph-nodes/service';
import { until } from '../testing/until.ts';
import { FileWants, neededFile, type FileWantsDeps } from './file-wants.ts';

const H = (c: string): string => c.repeat(64);

describe('neededFile', () => {
  const files = (held: Record<string, string>) => ({ has: (h: string) => h in held, read: (h: string) => (h in held ? Buffer.from(held[h] as string) : undefined) });

  it("names a non-inline message's content, then a STORE's file", () => {
    assert.deepEqual(neededFile({ itemHash: H('a'), type: 'POST', itemType: 'storage', itemContent: null }, files({})), { hash: H('a'), purpose: 'content' });
    assert.equal(neededFile({ itemHash: H('a'), type: 'POST', itemType: 'storage', itemContent: null }, files({ [H('a')]: '{}' })), undefined);
    assert.deepEqual(neededFile({ itemHash: H('a'), type: 'STORE', itemType: 'storage', itemContent: null }, files({ [H('a')]: JSON.stringify({ item_hash: H('b') }) })), { hash: H('b'), purpose: 'store' });
    assert.deepEqual(neededFile({ itemHash: H('c'), type: 'STORE', itemType: 'inline', itemContent: JSON.stringify({ item_hash: H('d') }) }, files({})), { hash: H('d'), purpose: 'store' });
  });

  it('ignores what is not an item hash (the processor rejects such a message itself)', () => {
    for (const itemContent of ['{"item_hash":"../../etc/passwd"}', 'not json', '{"item_hash":42}', null]) {
      assert.equal(neededFile({ itemHash: H('c'), type: 'STORE', itemType: 'inline', itemContent }, files({})), undefined, String(itemContent));
    }
    assert.equal(neededFile({ itemHash: H('c'), type: 'POST', itemType: 'inline', itemContent: '{}' }, files({})), undefined);
  });
});

describe('FileWants', () => {
  const deps = (over: Partial<FileWantsDeps>): FileWantsDeps => ({
    fetch: async () => true,
    arrived: async () => undefined,
    concurrency: 2,
    backoffBaseMs: 10,
    backoffMaxMs: 40,
    maxAttempts: 5,
    maxWants: 100,
    log: silentLogger(),
    nowMs: () => Date.now(),
    ...over,
  });

  it('fetches each file once for all its waiters, at most `concurrency` at once', async () => {
    let running = 0;
    let peak = 0;
    const fetched: string[] = [];
    const arrived: [string, string[]][] = [];
    const wants = new FileWants(
      deps({
        fetch: async (hash) => {
          running += 1;
          peak = Math.max(peak, running);
          await new Promise((r) => setTimeout(r, 20));
          running -= 1;
          fetched.push(hash);
          return true;
        },
        arrived: async (hash, waiters) => {
          arrived.push([hash, [...waiters].sort()]);
        },
      }),
    );
    wants.want(H('1'), 'store', 'm1');
    wants.want(H('1'), 'store', 'm2');
    for (const c of ['2', '3', '4', '5']) wants.want(H(c), 'content', `m${c}`);
    await until(() => arrived.length === 5, 'every file to arrive');
    wants.stop();
    assert.equal(fetched.filter((h) => h === H('1')).length, 1);
    assert.ok(peak <= 2, `peak ${peak}`);
    assert.deepEqual(arrived.find(([h]) => h === H('1'))?.[1], ['m1', 'm2']);
  });

  it('backs off while no peer has the file, then gives up after maxAttempts', async () => {
    const times: number[] = [];
    const wants = new FileWants(
      deps({
        fetch: async () => {
          times.push(Date.now());
          return false;
        },
      }),
    );
    wants.want(H('9'), 'store', 'm');
    await until(() => wants.givenUp === 1, 'giving up');
    wants.stop();
    assert.equal(times.length, 5);
    const gaps = times.slice(1).map((t, i) => t - (times[i] as number));
    // 10, 20, 40, 40 ms at least (bounded by backoffMaxMs).
    assert.ok(gaps[0]! >= 9 && gaps[1]! >= 19 && gaps[2]! >= 39 && gaps[3]! >= 39, JSON.stringify(gaps));
    assert.equal(wants.size, 0);
  });
});
