import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { listenForStop } from './stop-requests.ts';

describe('stop requests', () => {
  it('the first signal starts the stop; later ones are reported, never acted on twice', async () => {
    const repeats: string[] = [];
    const stop = listenForStop({ signals: ['SIGUSR2'], onRepeat: (r) => repeats.push(r) });
    // Signal listeners do not keep the event loop alive; a daemon's servers do.
    const alive = setInterval(() => {}, 1000);
    try {
      assert.equal(stop.reason, undefined);
      process.kill(process.pid, 'SIGUSR2');
      assert.equal(await stop.first, 'SIGUSR2');
      process.kill(process.pid, 'SIGUSR2');
      process.kill(process.pid, 'SIGUSR2');
      await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(repeats, ['SIGUSR2', 'SIGUSR2']);
      assert.equal(stop.reason, 'SIGUSR2');
    } finally {
      clearInterval(alive);
      stop.dispose();
    }
    assert.equal(process.listenerCount('SIGUSR2'), 0, 'dispose removes the listeners');
  });
});
