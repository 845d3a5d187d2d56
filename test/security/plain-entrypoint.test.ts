/**
 * Attack: a root file write through a `plain` entrypoint. The CRN wrote
 * `join(dir, content.code.entrypoint)` before any check, so a PROGRAM whose plain code has the
 * entrypoint `../../../../tmp/x/evil.sh` wrote the attacker's file, as root, anywhere on the
 * host. Here such programs are published with the official SDK and requested at /vm/{hash}:
 * each is refused with a 4xx and the reason, and no file appears outside the CRN's cache. A zip
 * whose entry is a symlink out of the tree, with a later entry written through it, is refused
 * the same way and writes nothing outside.
 *
 * If the CCN refuses such a program (a later change may make it), the relay in front of it
 * serves the signed message anyway: this tests the CRN, whatever the CCN does.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Encoding, ItemType } from '@aleph-sdk/message';
import { EthAccount, signAllocationRequest } from '@aleph-nodes/protocol';
import { makeZip } from '../../packages/crn/src/testing/zip.ts';
import { ECHO_PROGRAM } from '../crn/helpers/nodes.ts';
import { frameOf, signed, startCrnUnderAttack, visit, type CrnUnderAttack, type ErrorBody } from './helpers/crn-under-attack.ts';

const EVIL = '#!/bin/sh\necho owned > /tmp/owned-by-a-program\n';
const scheduler = EthAccount.generate();

describe('security: a message cannot write files outside the CRN cache (hole 1)', () => {
  let env: CrnUnderAttack;
  let runtime: string;
  const unique = `crn-sec-evil-${randomBytes(6).toString('hex')}`;
  // Where the writes of the earlier code landed: /tmp/<unique> (enough `..` to reach /) and
  // /tmp/tmp/<unique> (four `..` from the cache directory of a data dir in /tmp).
  const landings = [join(tmpdir(), unique), join(tmpdir(), 'tmp', unique), join(tmpdir(), `${unique}-abs`)];
  const linkTarget = join(tmpdir(), `${unique}-zip`);

  before(async () => {
    env = await startCrnUnderAttack({ authorizedAllocationSigners: [scheduler.address] });
    const store = await env.owner.createStore({ fileObject: new Blob([new TextEncoder().encode('runtime stand-in')]), storageEngine: ItemType.storage, channel: 'TEST', sync: true });
    runtime = store.item_hash;
    mkdirSync(linkTarget);
  });
  after(async () => {
    await env?.close();
    for (const p of [...landings, linkTarget]) rmSync(p, { recursive: true, force: true });
  });

  /** Publishes with the SDK; when the CCN refuses, the relay serves the same program by hand. */
  async function publish(file: Uint8Array, encoding: Encoding, entrypoint: string, isPersistent = false): Promise<string> {
    try {
      const program = await env.owner.createProgram({ file: new Blob([file]), encoding, entrypoint, runtime, isPersistent, storageEngine: ItemType.storage, channel: 'TEST', memory: 128, sync: true });
      return program.item_hash;
    } catch {
      const code = await env.owner.createStore({ fileObject: new Blob([file]), storageEngine: ItemType.storage, channel: 'TEST', sync: true });
      const message = signed(env.ownerAccount, 'PROGRAM', {
        type: 'vm-function',
        allow_amend: false,
        code: { encoding, entrypoint, ref: code.item_hash, use_latest: false },
        runtime: { ref: runtime, use_latest: true, comment: '' },
        on: { http: true, persistent: isPersistent },
        environment: { reproducible: false, internet: false, aleph_api: false, shared_cache: false },
        resources: { vcpus: 1, memory: 128, seconds: 30 },
        volumes: [],
        variables: {},
      });
      env.relay.serve(frameOf(message));
      return message.item_hash;
    }
  }

  function assertRefused(answer: { status: number; body: Record<string, unknown> }, reason: RegExp): void {
    assert.ok(answer.status >= 400 && answer.status < 500, `a 4xx, got ${answer.status} ${JSON.stringify(answer.body)}`);
    const { error } = answer.body as unknown as ErrorBody;
    assert.match(error.message, reason);
  }

  it('refuses plain entrypoints that climb out of the code directory or are absolute', async () => {
    const cases: [string, RegExp][] = [
      [`../../../../tmp/${unique}/evil.sh`, /'\.' or '\.\.'/],
      [`${'../'.repeat(12)}tmp/${unique}/evil.sh`, /'\.' or '\.\.'/],
      [join(tmpdir(), `${unique}-abs`, 'evil.sh'), /relative/],
    ];
    for (const [entrypoint, reason] of cases) {
      const hash = await publish(new TextEncoder().encode(EVIL), Encoding.plain, entrypoint);
      const answer = await visit(env, hash);
      for (const p of landings) assert.equal(existsSync(p), false, `nothing written at ${p} (entrypoint ${entrypoint})`);
      assertRefused(answer, reason);
      assert.equal((answer.body as unknown as ErrorBody).error.code, 'UNSAFE_PATH');
    }
    assert.equal(existsSync('/tmp/owned-by-a-program'), false);
  });

  it('refuses a persistent one placed by the scheduler, with the reason in the answer and the log', async () => {
    const hash = await publish(new TextEncoder().encode(EVIL), Encoding.plain, `${'../'.repeat(12)}tmp/${unique}/evil.sh`, true);
    const body = JSON.stringify({ persistent_vms: [hash], instances: [] });
    const res = await fetch(`${env.crn.url}/control/allocations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: signAllocationRequest(scheduler, { method: 'POST', path: '/control/allocations', body, iat: Math.floor(Date.now() / 1000), target: { nodeHash: null, url: env.crn.url } }) },
      body,
    });
    const result = (await res.json()) as { failing: string[]; errors: Record<string, string> };
    assert.deepEqual(result.failing, [hash]);
    assert.match(result.errors[hash] ?? '', /UNSAFE_PATH: .*'\.' or '\.\.'/);
    assert.ok(env.logs.some((l) => l.ref === hash && l.msg === 'execution failed to start' && /'\.' or '\.\.'/.test(String(l.err))), 'the reason is in the log');
    for (const p of landings) assert.equal(existsSync(p), false, `nothing written at ${p}`);
  });

  it('still runs a plain program with an ordinary entrypoint', async () => {
    const hash = await publish(new TextEncoder().encode(ECHO_PROGRAM), Encoding.plain, 'main.mjs');
    const answer = await visit(env, hash);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
  });

  it('refuses a zip that writes through a symlink out of the tree, and writes nothing outside', async () => {
    for (const target of [linkTarget, `${'../'.repeat(12)}${linkTarget.slice(1)}`]) {
      const zip = makeZip([
        { name: 'main.mjs', data: ECHO_PROGRAM },
        { name: 'out', data: target, symlink: true },
        { name: 'out/evil.sh', data: EVIL, mode: 0o755 },
      ]);
      const hash = await publish(zip, Encoding.zip, 'main.mjs');
      assertRefused(await visit(env, hash), /symlink|out of the archive tree/);
    }
    assert.deepEqual(readdirSync(linkTarget), [], 'nothing written through the link');
  });
});
