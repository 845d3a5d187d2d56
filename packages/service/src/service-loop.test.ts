import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { Writable } from 'node:stream';
import { createLogger, silentLogger } from './logger.ts';
import { LOOP_TRANSITIONS, LoopStateError, ServiceLoop, type RoundFn } from './service-loop.ts';

/** Lets pending promise callbacks run (setImmediate is not mocked). */
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A round whose end the test decides. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

function loopOf(round: RoundFn, extra: { intervalMs?: number; initialDelayMs?: number; backoff?: { baseMs: number; maxMs: number } } = {}): ServiceLoop {
  return new ServiceLoop({ name: 'test', log: silentLogger(), round, ...extra });
}

describe('ServiceLoop', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
  afterEach(() => mock.timers.reset());

  it('runs a round at start, then one interval after each round ends', async () => {
    let rounds = 0;
    const loop = loopOf(() => void rounds++, { intervalMs: 1000 });
    assert.equal(loop.state, 'idle');
    loop.start();
    assert.equal(loop.state, 'running');
    mock.timers.tick(0);
    await flush();
    assert.equal(rounds, 1);
    mock.timers.tick(999);
    await flush();
    assert.equal(rounds, 1);
    mock.timers.tick(1);
    await flush();
    assert.equal(rounds, 2);
    await loop.stop();
  });

  it('waits initialDelayMs before the first round, and a returned delay overrides the interval', async () => {
    const delays = [5000, Infinity];
    let rounds = 0;
    const loop = loopOf(() => {
      rounds++;
      return delays.shift();
    }, { intervalMs: 100, initialDelayMs: 50 });
    loop.start();
    mock.timers.tick(49);
    await flush();
    assert.equal(rounds, 0);
    mock.timers.tick(1);
    await flush();
    assert.equal(rounds, 1);
    mock.timers.tick(4999);
    await flush();
    assert.equal(rounds, 1, 'the returned 5000 ms, not the 100 ms interval');
    mock.timers.tick(1);
    await flush();
    assert.equal(rounds, 2);
    assert.equal(loop.nextRoundAt, null, 'Infinity: nothing armed');
    mock.timers.tick(1_000_000);
    await flush();
    assert.equal(rounds, 2);
    loop.trigger();
    await flush();
    assert.equal(rounds, 3, 'a trigger still runs it');
    await loop.stop();
  });

  it('coalesces: many triggers during a round cause exactly one more round', async () => {
    const gates = [gate(), gate()];
    let rounds = 0;
    const loop = loopOf(async () => {
      const g = gates[rounds++];
      await g?.promise;
    });
    loop.start();
    mock.timers.tick(0);
    await flush();
    assert.equal(rounds, 1);
    assert.equal(loop.busy, true);
    for (let i = 0; i < 10; i++) loop.trigger();
    gates[0]?.open();
    await flush();
    assert.equal(rounds, 2, 'one more round');
    for (let i = 0; i < 3; i++) loop.trigger();
    gates[1]?.open();
    await loop.settled();
    assert.equal(rounds, 3, 'and again exactly one for the triggers during the second');
    await loop.settled();
    assert.equal(loop.busy, false);
    await loop.stop();
  });

  it('a trigger while waiting runs a round at once and re-arms the interval from its end', async () => {
    let rounds = 0;
    const loop = loopOf(() => void rounds++, { intervalMs: 1000 });
    loop.start();
    mock.timers.tick(0);
    await flush();
    mock.timers.tick(600);
    loop.trigger();
    await flush();
    assert.equal(rounds, 2);
    mock.timers.tick(999);
    await flush();
    assert.equal(rounds, 2, 'the old timer was dropped');
    mock.timers.tick(1);
    await flush();
    assert.equal(rounds, 3);
    await loop.stop();
  });

  it('backs off after failed rounds, logs each failure, and resets on success', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        cb();
      },
    });
    let rounds = 0;
    const failing = 3;
    const seen: number[] = [];
    const loop = new ServiceLoop({
      name: 'flaky',
      log: createLogger({ name: 't', destination: sink }),
      intervalMs: 10_000,
      backoff: { baseMs: 100, maxMs: 300 },
      round: ({ failures }) => {
        seen.push(failures);
        if (rounds++ < failing) throw new Error('boom');
      },
    });
    loop.start();
    mock.timers.tick(0);
    await flush();
    assert.equal(loop.failures, 1);
    mock.timers.tick(99);
    await flush();
    assert.equal(rounds, 1);
    mock.timers.tick(1);
    await flush();
    assert.equal(rounds, 2);
    mock.timers.tick(200);
    await flush();
    assert.equal(rounds, 3);
    mock.timers.tick(299);
    await flush();
    assert.equal(rounds, 3, 'capped at maxMs = 300');
    mock.timers.tick(1);
    await flush();
    assert.equal(rounds, 4);
    assert.equal(loop.failures, 0);
    assert.deepEqual(seen, [0, 1, 2, 3]);
    await flush();
    const failures = lines.filter((l) => l.loop === 'flaky');
    assert.deepEqual(
      failures.map((l) => [l.failures, l.retryInMs, l.level]),
      [
        [1, 100, 50],
        [2, 200, 50],
        [3, 300, 50],
      ],
    );
    assert.equal((failures[0]?.err as { message?: string }).message, 'boom');
    await loop.stop();
  });

  it('stop() waits for the round in flight, aborts its signal, and no round runs afterwards', async () => {
    const g = gate();
    let rounds = 0;
    let aborted = false;
    const loop = loopOf(
      async ({ signal }) => {
        rounds++;
        signal.addEventListener('abort', () => (aborted = true));
        await g.promise;
      },
      { intervalMs: 10 },
    );
    loop.start();
    mock.timers.tick(0);
    await flush();
    let stopped = false;
    const stopping = loop.stop().then(() => (stopped = true));
    assert.equal(loop.state, 'stopping');
    assert.equal(aborted, true);
    await flush();
    assert.equal(stopped, false, 'still waiting for the round');
    g.open();
    await stopping;
    assert.equal(loop.state, 'stopped');
    loop.trigger();
    mock.timers.tick(1000);
    await flush();
    assert.equal(rounds, 1);
    assert.equal(loop.stop(), loop.stop(), 'idempotent');
  });

  it('refuses illegal transitions', async () => {
    const running = loopOf(() => undefined);
    running.start();
    assert.throws(() => running.start(), LoopStateError);
    await running.stop();
    assert.throws(() => running.start(), /cannot go from stopped to running/);
    const never = loopOf(() => undefined);
    await never.stop();
    assert.equal(never.state, 'stopped');
    assert.throws(() => never.start(), LoopStateError);
    // The table itself: a stopped loop is final, and nothing goes back to idle.
    assert.deepEqual(LOOP_TRANSITIONS.stopped, []);
    for (const to of Object.values(LOOP_TRANSITIONS)) assert.equal(to.includes('idle'), false);
  });

  it('a trigger before start or after stop does nothing', async () => {
    let rounds = 0;
    const loop = loopOf(() => void rounds++);
    loop.trigger();
    await flush();
    assert.equal(rounds, 0);
    await loop.stop();
    loop.trigger();
    await flush();
    assert.equal(rounds, 0);
  });
});

describe('ServiceLoop timer', () => {
  it('never keeps the process alive (unref)', async () => {
    const count = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = count();
    const loop = loopOf(() => undefined, { intervalMs: 60_000 });
    loop.start();
    await loop.settled();
    await flush();
    assert.notEqual(loop.nextRoundAt, null, 'armed');
    assert.equal(count(), before);
    await loop.stop();
  });
});
