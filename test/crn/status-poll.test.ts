/**
 * Without the message websocket, the status poll still stops an execution whose message was
 * forgotten (after 3 consecutive terminal statuses from the CCN).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ECHO_PROGRAM, startNodes, type Nodes } from './helpers/nodes.ts';
import { eventually } from '../helpers/eventually.ts';

describe('message status poll', () => {
  let nodes: Nodes;
  before(async () => {
    nodes = await startNodes({ messageWatch: false, statusPollSeconds: 0.2 });
  });
  after(async () => {
    await nodes?.close();
  });

  it('stops the execution of a forgotten message', async () => {
    const hash = await nodes.publishProgram(ECHO_PROGRAM);
    const res = await fetch(`${nodes.crn.url}/vm/${hash}/`);
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    const listed = async (): Promise<boolean> => hash in ((await (await fetch(`${nodes.crn.url}/about/executions/list`)).json()) as Record<string, unknown>);
    assert.equal(await listed(), true);
    await nodes.client.forget({ hashes: [hash], channel: 'TEST', sync: true });
    await eventually('stop after the status poll saw the FORGET', 20_000, async () => !(await listed()));
  });
});
