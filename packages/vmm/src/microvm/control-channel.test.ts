import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CheckedGuestMessage } from './agent-schema.ts';
import { ControlClient } from './control-channel.ts';

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(check(), 'condition not reached');
}

describe('ControlClient', () => {
  it('connects to the socket QEMU serves, checks every line, and connects again after a disconnect', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'ctl-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const path = join(dir, 'c.sock');
    // The stand-in for QEMU's chardev server: one client at a time.
    const peers: Socket[] = [];
    const server = createServer((socket) => peers.push(socket));
    const received: CheckedGuestMessage[] = [];
    const malformed: string[] = [];
    const oversized: number[] = [];
    // Started before the socket exists, as the host does before QEMU is up.
    const client = new ControlClient(path, { onMessage: (m) => received.push(m), onMalformed: (r) => malformed.push(r), onOversized: (b) => oversized.push(b) }, 20);
    client.start();
    assert.equal(client.send({ type: 'shutdown', graceMs: 1 }), false, 'nothing to talk to yet');
    await new Promise<void>((r) => server.listen(path, () => r()));
    t.after(() => new Promise<void>((r) => server.close(() => r())));
    await until(() => peers.length === 1 && client.connected);

    const first = peers[0]!;
    first.write('{"type":"hello","version":"1.0.0","kernel":"k","uptimeMs":1}\nnot json\n{"type":"re');
    first.write('ady"}\n{"type":"log","stream":"stdout","text":"x","extra":1}\n');
    first.write(`{"type":"log","stream":"stdout","text":"${'y'.repeat(70_000)}"}\n`);
    await until(() => received.length === 2 && malformed.length === 2 && oversized.length === 1);
    assert.deepEqual(received.map((m) => m.type), ['hello', 'ready']);
    assert.match(malformed[0]!, /not JSON/);
    assert.match(malformed[1]!, /invalid message/);
    assert.ok(oversized[0]! > 70_000);
    const firstData = new Promise<string>((r) => first.once('data', (d) => r(d.toString())));
    assert.equal(client.send({ type: 'shutdown', graceMs: 5 }), true);
    assert.equal(await firstData, '{"type":"shutdown","graceMs":5}\n');

    // QEMU restarted (a boot retry) or dropped us: the client comes back on its own.
    first.destroy();
    await until(() => peers.length === 2 && client.connected);
    peers[1]!.write('{"type":"halting"}\n');
    await until(() => received.length === 3);
    assert.equal(received[2]?.type, 'halting');
    await client.close();
    assert.equal(client.connected, false);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(peers.length, 2, 'no reconnection after close()');
  });
});
