/**
 * The Supervisor's decisions, without root: starts (once for concurrent callers), idle stops,
 * admission and per-owner caps, start failures and their logs, restarts of crashed persistent
 * executions, owner stops (final, across restarts), deallocation, retired messages, re-adoption
 * after a supervisor restart. Workloads run on the FakeExecutor (conformance-checked); the
 * real-executor behaviour (HTTP routes, cgroups, namespaces) is in test/crn/supervisor.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EthAccount } from '@aleph-nodes/protocol';
import { HttpError } from '@aleph-nodes/service';
import { ownerQuota } from './owner-quota.ts';
import { callWorkload, supervisorHarness, type SupervisorHarness } from '../testing/supervisor-harness.ts';

/** Answers its boot id and FOO; `/crash` exits with status 7. */
const ECHO = `
import http from 'node:http';
import { randomUUID } from 'node:crypto';
const boot = randomUUID();
console.log('echo starting', boot);
http.createServer((req, res) => {
  if (req.url === '/crash') { console.error('crash requested'); process.exit(7); }
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ boot, foo: process.env.FOO ?? null }));
}).listen(8080, '0.0.0.0');
`;

const CRASHING = `console.error('fatal: missing configuration'); process.exit(2);`;

type Answer = { boot: string; foo: string | null };

/** Rejects with an HttpError carrying `code`. */
async function refusedWith(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof HttpError, String(err));
    assert.equal(err.code, code, err.message);
    return true;
  });
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${what} did not happen within ${ms} ms`);
}

describe('Supervisor (fake executor, no root)', () => {
  let h: SupervisorHarness;
  before(async () => {
    h = await supervisorHarness({ idleTimeoutSeconds: 1 });
  });
  after(async () => {
    await h?.close();
  });

  it('starts an on-demand program once for concurrent first requests, with its variables', async () => {
    const ref = h.ccn.program(ECHO, { variables: { FOO: 'concurrent' } });
    const execs = await Promise.all(Array.from({ length: 6 }, () => h.supervisor.forRequest(ref)));
    assert.equal(new Set(execs).size, 1);
    const exec = execs[0]!;
    assert.equal(exec.state, 'running');
    assert.equal(exec.vmType, 'microvm');
    const answer = await callWorkload<Answer>(exec);
    assert.equal(answer.foo, 'concurrent');
    assert.equal((await callWorkload<Answer>(await h.supervisor.forRequest(ref))).boot, answer.boot, 'a warm execution is reused');
    await h.supervisor.stopExecution(exec, 'test');
  });

  it('stops an idle on-demand program after its timeout, never while a request is in flight, and starts it again', async () => {
    const ref = h.ccn.program(ECHO);
    const exec = await h.supervisor.forRequest(ref);
    h.supervisor.requestStarted(exec);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(exec.state, 'running', 'a request in flight holds it');
    h.supervisor.requestEnded(exec);
    await until('idle stop', () => exec.state === 'stopped');
    assert.equal(h.records.get(ref)?.state, 'stopped');
    assert.deepEqual(h.executor.hostResources().workloads.includes(exec.id), false);
    const again = await h.supervisor.forRequest(ref);
    assert.notEqual(again, exec);
    assert.equal(again.state, 'running');
    await h.supervisor.stopExecution(again, 'test');
  });

  it('refuses what exceeds the capacity, and never overcommits', async () => {
    await refusedWith(h.supervisor.forRequest(h.ccn.program(ECHO, { memory: 4096 })), 'INSUFFICIENT_CAPACITY');
    // 1024 MiB: three of 384 MiB do not fit together.
    const refs = [0, 1, 2].map((i) => h.ccn.program(ECHO, { memory: 384, variables: { FOO: `cap-${i}` } }));
    const results = await Promise.allSettled(refs.map((ref) => h.supervisor.forRequest(ref)));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 2);
    assert.ok(h.supervisor.committed().memoryMib <= 1024);
    for (const exec of h.supervisor.liveExecutions()) await h.supervisor.stopExecution(exec, 'test');
  });

  it('reports a program that fails on start, with its output', async () => {
    const ref = h.ccn.program(CRASHING);
    await refusedWith(h.supervisor.forRequest(ref), 'PROGRAM_START_FAILED');
    const exec = h.supervisor.find(ref);
    assert.equal(exec?.state, 'failed');
    assert.ok(exec?.lastLogs.some((l) => l.stream === 'stderr' && l.text.includes('fatal: missing configuration')));
    assert.equal(h.supervisor.liveExecutions().length, 0);
  });

  it('refuses unknown references and messages that are not programs', async () => {
    await refusedWith(h.supervisor.forRequest('ab'.repeat(32)), 'UNKNOWN_REF');
    const post = h.ccn.publish('POST', { type: 'note', content: { x: 1 } });
    await refusedWith(h.supervisor.forRequest(post.item_hash), 'NOT_EXECUTABLE');
  });

  it('restarts a crashed persistent execution; an owner stop is final until the owner starts it', async () => {
    const ref = h.ccn.program(ECHO, { persistent: true });
    const exec = await h.supervisor.ensurePersistent(ref);
    assert.equal(exec.vmType, 'persistent_program');
    const first = await callWorkload<Answer>(exec);
    await callWorkload(exec, '/crash').catch(() => undefined);
    await until('restart after the crash', () => {
      const now = h.supervisor.find(ref);
      return now !== undefined && now !== exec && now.state === 'running';
    });
    assert.equal(exec.state, 'failed');
    assert.ok(exec.lastLogs.some((l) => l.text.includes('crash requested')));
    assert.notEqual((await callWorkload<Answer>(h.supervisor.find(ref)!)).boot, first.boot);

    assert.equal(await h.supervisor.ownerStop(ref), true);
    assert.equal(h.supervisor.find(ref)?.live, false);
    await refusedWith(h.supervisor.forRequest(ref), 'OWNER_STOPPED');
    await refusedWith(h.supervisor.ensurePersistent(ref), 'OWNER_STOPPED');
    const restarted = await h.supervisor.ownerStart(ref, false);
    assert.equal(restarted.state, 'running');
    assert.equal(restarted.persistent, true);

    await h.supervisor.deallocate(restarted);
    assert.equal(restarted.state, 'stopped');
    assert.equal(h.supervisor.liveExecutions().length, 0);
  });

  it('stops and retires a forgotten message, and refuses to start one the CCN says is forgotten', async () => {
    const ref = h.ccn.program(ECHO);
    const exec = await h.supervisor.forRequest(ref);
    await h.supervisor.messageRetired(ref, 'forgotten');
    assert.equal(exec.state, 'stopped');
    await refusedWith(h.supervisor.forRequest(ref), 'MESSAGE_RETIRED');

    const other = h.ccn.program(ECHO);
    h.ccn.setStatus(other, 'forgotten');
    await refusedWith(h.supervisor.forRequest(other), 'MESSAGE_RETIRED');
    assert.equal(h.supervisor.isRetired(other), true);
  });
});

describe('Supervisor restart (fake executor, no root)', () => {
  let h: SupervisorHarness;
  before(async () => {
    h = await supervisorHarness();
  });
  after(async () => {
    await h?.close();
  });

  it('re-adopts running persistent executions, keeps owner stops and drops on-demand ones', async () => {
    const persistent = h.ccn.program(ECHO, { persistent: true, variables: { FOO: 'kept' } });
    const stopped = h.ccn.program(ECHO, { persistent: true });
    const onDemand = h.ccn.program(ECHO);
    const boot = (await callWorkload<Answer>(await h.supervisor.ensurePersistent(persistent))).boot;
    await h.supervisor.ensurePersistent(stopped);
    await h.supervisor.ownerStop(stopped);
    const onDemandId = (await h.supervisor.forRequest(onDemand)).id;

    await h.restart();

    const adopted = h.supervisor.find(persistent);
    assert.equal(adopted?.state, 'running');
    assert.equal(adopted.persistent, true);
    assert.deepEqual(await callWorkload<Answer>(adopted), { boot, foo: 'kept' }, 'the same workload, not a new start');
    assert.equal(h.supervisor.isOwnerStopped(stopped), true);
    await refusedWith(h.supervisor.forRequest(stopped), 'OWNER_STOPPED');
    assert.equal(h.supervisor.find(onDemand)?.live ?? false, false);
    assert.equal(h.executor.hostResources().workloads.includes(onDemandId), false, 'the on-demand workload was stopped');
    // An adopted workload is watched like a started one: its crash restarts it.
    await callWorkload(adopted, '/crash').catch(() => undefined);
    await until('restart of the adopted execution', () => h.supervisor.find(persistent)?.state === 'running' && h.supervisor.find(persistent) !== adopted);
  });

  it('restarts a persistent execution whose workload died with the supervisor', async () => {
    const ref = h.ccn.program(ECHO, { persistent: true });
    const exec = await h.supervisor.ensurePersistent(ref);
    const boot = (await callWorkload<Answer>(exec)).boot;
    const pid = (exec.handle!.adoptionRecord().data as { pid: number }).pid;
    await h.supervisor.close();
    process.kill(-pid, 'SIGKILL');
    await until('the workload to die', () => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    });
    await h.restart();
    await until('restart', () => h.supervisor.find(ref)?.state === 'running');
    assert.notEqual((await callWorkload<Answer>(h.supervisor.find(ref)!)).boot, boot);
  });
});

describe('Supervisor per-owner caps (fake executor, no root)', () => {
  let h: SupervisorHarness;
  const capacity = { vcpus: 8, memoryMib: 1024 };
  before(async () => {
    h = await supervisorHarness({
      onDemand: { quota: ownerQuota(capacity, { vcpusShare: 1, memoryShare: 1, maxExecutions: 1 }), idleTimeoutSeconds: 60, unpaidIdleTimeoutSeconds: 60, exempt: new Set(), isPaid: () => false },
    });
  });
  after(async () => {
    await h?.close();
  });

  it('caps one owner unpaid on-demand programs without affecting another owner', async () => {
    const other = EthAccount.generate();
    const first = await h.supervisor.forRequest(h.ccn.program(ECHO));
    await refusedWith(h.supervisor.forRequest(h.ccn.program(ECHO)), 'OWNER_LIMIT');
    const theirs = await h.supervisor.forRequest(h.ccn.program(ECHO, { owner: other }));
    assert.equal(theirs.state, 'running');
    assert.equal(theirs.owner.toLowerCase(), other.address.toLowerCase());
    // A persistent program is not capped.
    assert.equal((await h.supervisor.ensurePersistent(h.ccn.program(ECHO, { persistent: true }))).state, 'running');
    await h.supervisor.stopExecution(first, 'test');
    assert.equal((await h.supervisor.forRequest(h.ccn.program(ECHO))).state, 'running', 'a stop frees the owner slot');
  });
});
