/**
 * The CRN's authenticated routes fuzzed over real HTTP against a real CCN and CRN: allocation
 * pushes (any Authorization header and body), owner operations (any X-SignedPubKey /
 * X-SignedOperation, on a known and on unknown refs), notify (any body) and the stream_logs
 * websocket auth frame. Bad input gets a 4xx (or the failed frame), never a 5xx, and the node
 * keeps answering. Header values are what HTTP can carry (visible ASCII and spaces).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import WebSocket from 'ws';
import { fuzzRuns } from '@aleph-nodes/protocol/testing';
import { encodeHex, EthAccount, OwnerSession, utf8 } from '@aleph-nodes/protocol';
import { ECHO_PROGRAM, OWNER_KEY, startNodes, type Nodes } from '../crn/helpers/nodes.ts';

const DOMAIN = '127.0.0.1';
const scheduler = EthAccount.generate();
const owner = new OwnerSession(EthAccount.fromPrivateKey(OWNER_KEY), DOMAIN);

/** Characters a header value can carry on the wire. */
const headerText = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 300 });
const hex = fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), maxLength: 200 });

/** `{payload: hex(JSON), signature}` envelopes of arbitrary JSON, as the owner headers carry. */
const envelope = fc.record({ payload: fc.oneof(hex, fc.jsonValue().map((v) => encodeHex(utf8(JSON.stringify(v) ?? 'null')))), signature: fc.oneof(hex, headerText) }, { requiredKeys: [] });

const allocationHeader = fc.oneof(
  headerText,
  fc.tuple(hex, fc.jsonValue()).map(([sig, payload]) => `Aleph-EIP191-V1 sig=0x${sig},payload=${encodeHex(utf8(JSON.stringify(payload) ?? 'null'))}`),
  // Validly signed by an authorized key, near-valid payloads.
  fc.record({ method: fc.constantFrom('POST', 'GET'), path: fc.constantFrom('/control/allocations', '/x'), body_sha256: hex, iat: fc.oneof(fc.integer(), fc.constant(Math.floor(Date.now() / 1000))), node_hash: fc.oneof(hex, fc.constant(null)), url: headerText }, { requiredKeys: [] }).map((p) => {
    const json = JSON.stringify(p);
    return `Aleph-EIP191-V1 sig=${scheduler.signPersonal(json)},payload=${encodeHex(utf8(json))}`;
  }),
);

describe('CRN authenticated routes (fuzz, real HTTP)', { timeout: 1_800_000 }, () => {
  let nodes: Nodes;
  let program = '';

  before(async () => {
    nodes = await startNodes({ authorizedAllocationSigners: [scheduler.address], nodeHash: 'ab'.repeat(32), streamLogsMaxPerIp: 4 });
    program = await nodes.publishProgram(ECHO_PROGRAM);
    // Known to the node: stream_logs of a ref it never ran is a 404 before the upgrade (aleph-vm).
    await (await fetch(`${nodes.crn.url}/vm/${program}/`)).arrayBuffer();
  });
  after(async () => {
    await nodes?.close();
  });

  const ok = (status: number, what: string): void => assert.ok(status > 0 && status < 500, `${what} answered ${status}`);

  it('POST /control/allocations: any Authorization and body → 4xx', async () => {
    await fc.assert(
      fc.asyncProperty(allocationHeader, fc.oneof(fc.string(), fc.jsonValue().map((v) => JSON.stringify(v) ?? '')), async (authorization, body) => {
        const res = await fetch(`${nodes.crn.url}/control/allocations`, { method: 'POST', headers: { 'content-type': 'application/json', authorization }, body });
        await res.arrayBuffer();
        ok(res.status, 'allocations');
      }),
      { numRuns: fuzzRuns() },
    );
  });

  it('owner operations: any X-SignedPubKey / X-SignedOperation → 4xx', async () => {
    const ref = fc.oneof(fc.constant(program), fc.constant('cd'.repeat(32)), fc.string({ unit: fc.constantFrom(...'abcdef0123456789xyz-'), maxLength: 70 }));
    const pub = fc.oneof(headerText, envelope.map((e) => JSON.stringify(e)), fc.constant(owner.signedPubKey));
    const op = fc.oneof(headerText, envelope.map((e) => JSON.stringify(e)));
    const action = fc.constantFrom('stop', 'start', 'reboot', 'erase', 'expire', 'logs');
    await fc.assert(
      fc.asyncProperty(ref, pub, op, action, async (r, p, o, a) => {
        const res = await fetch(`${nodes.crn.url}/control/machine/${r}/${a}`, { method: a === 'logs' ? 'GET' : 'POST', headers: { 'X-SignedPubKey': p, 'X-SignedOperation': o } });
        await res.arrayBuffer();
        ok(res.status, `${a} on ${r}`);
      }),
      { numRuns: fuzzRuns() },
    );
  });

  it('notify: any body → 4xx', async () => {
    const body = fc.oneof(
      fc.string(),
      fc.jsonValue().map((v) => JSON.stringify(v) ?? ''),
      fc.oneof(fc.constant(program), fc.constant('ef'.repeat(32)), hex).map((instance) => JSON.stringify({ instance })),
    );
    await fc.assert(
      fc.asyncProperty(body, async (b) => {
        const res = await fetch(`${nodes.crn.url}/control/allocation/notify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: b });
        await res.arrayBuffer();
        ok(res.status, 'notify');
      }),
      { numRuns: fuzzRuns() },
    );
  });

  it('stream_logs: any auth frame gets the failed frame and a close', async () => {
    const frame = fc.oneof(
      fc.string(),
      fc.jsonValue().map((v) => JSON.stringify(v) ?? ''),
      fc.record({ auth: fc.record({ 'X-SignedPubKey': fc.oneof(envelope, fc.anything()), 'X-SignedOperation': fc.oneof(envelope, fc.anything()) }, { requiredKeys: [] }) }).map((v) => JSON.stringify(v) ?? ''),
    );
    await fc.assert(
      fc.asyncProperty(frame, async (f) => {
        const answer = await new Promise<string>((resolve, reject) => {
          const ws = new WebSocket(`${nodes.crn.url.replace('http', 'ws')}/control/machine/${program}/stream_logs`);
          let first = '';
          ws.once('open', () => ws.send(f));
          ws.once('message', (d) => (first = String(d)));
          ws.once('close', () => resolve(first));
          ws.once('error', reject);
        });
        assert.equal((JSON.parse(answer) as { status?: string }).status, 'failed', answer);
      }),
      { numRuns: fuzzRuns() },
    );
  });

  it('the node still answers', async () => {
    assert.equal((await fetch(`${nodes.crn.url}/about/usage/system`)).status, 200);
  });
});
