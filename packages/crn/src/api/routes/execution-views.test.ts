import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ExecutionDetailsSchema, ExecutionListV1Schema, ExecutionListV2Schema, ExecutionRecordsSchema, SystemUsageAnswerSchema } from '@aleph-nodes/protocol';
import type { ExecutionRecord } from '../../db/records.ts';
import { Execution } from '../../execution/execution.ts';
import { detailViews, executionUuid, listV1, listV2, recordViews } from './execution-views.ts';
import { systemUsage } from './system-usage.ts';

const H = (c: string): string => c.repeat(64);
const message = { message: { type: 'PROGRAM', sender: '0xabc' }, content: { address: '0xabc', resources: { vcpus: 1, memory: 128 } } };

function execution(ref: string, handle?: unknown): Execution {
  const exec = new Execution(ref, ref, message as never, 'microvm', false, { vcpus: 1, memoryMib: 128, diskMib: 0 }, Promise.resolve());
  if (handle) {
    exec.handle = handle as never;
    exec.setState('starting');
    exec.setState('running');
  }
  return exec;
}

function record(ref: string, state: string): ExecutionRecord {
  return {
    ref, vmType: 'microvm', persistent: false, state, ownerStopped: false, message: JSON.stringify(message), owner: '0xabc', vcpus: 1, memoryMib: 128, diskMib: 0,
    adoption: null, memoryPeakMib: null, lastError: null, lastLogs: [], definedAt: '2026-01-01T00:00:00.000Z', startedAt: '2026-01-01T00:00:01.000Z', stoppedAt: state === 'stopped' ? '2026-01-01T00:01:00.000Z' : null,
  } as ExecutionRecord;
}

describe('execution views (aleph-vm 1.14 shapes)', () => {
  const processRun = execution(H('a'), { endpoint: { host: '10.0.0.2', port: 8080 } });
  const vmRun = execution(H('b'), { endpoint: { host: '172.16.0.2', port: 22 }, network: { ipv4Network: '172.16.0.0/30', ipv4Ip: '172.16.0.2', hostIpv4: null, portForwards: [{ guestPort: 22, hostPort: 24000, tcp: true, udp: false }], ipv6Network: 'fd00::/124', ipv6Ip: 'fd00::2' } });
  const preparing = execution(H('c'));
  const live = [processRun, vmRun, preparing];
  const find = (ref: string): Execution | undefined => live.find((e) => e.ref === ref);

  it('v1 lists the running executions, networking as strings', () => {
    const v1 = ExecutionListV1Schema.parse(listV1(live));
    assert.deepEqual(Object.keys(v1), [H('a'), H('b')]);
    assert.deepEqual(v1[H('a')]?.networking, { ipv4: '10.0.0.2/30', ipv6: '' });
    assert.deepEqual(v1[H('b')]?.networking, { ipv4: '172.16.0.0/30', ipv6: 'fd00::/124' });
  });

  it('v2: no null where the SDK wants a string, IPv6 from the network when the backend reports it, stopped ones kept', () => {
    const records = [record(H('a'), 'running'), record(H('b'), 'running'), record(H('c'), 'preparing'), record(H('d'), 'stopped')];
    const v2 = ExecutionListV2Schema.parse(listV2({ records, find, extras: () => ({}) }));
    assert.equal(v2[H('b')]?.networking.host_ipv4, '');
    assert.equal(v2[H('b')]?.networking.ipv6_ip, 'fd00::2');
    assert.deepEqual(v2[H('b')]?.networking.mapped_ports, { '22': { host: 24000, tcp: true, udp: false } });
    assert.equal(v2[H('c')]?.running, false);
    assert.equal(v2[H('c')]?.networking.ipv4_network, '');
    assert.equal(v2[H('d')]?.running, false);
    assert.equal(v2[H('d')]?.status.stopped_at, '2026-01-01T00:01:00.000Z');
    for (const entry of Object.values(v2)) assert.equal(Object.keys(entry.status).length, 7);
  });

  it('records newest first with aleph-vm columns; details as [{hash: execution}]', () => {
    const older = record(H('a'), 'stopped');
    const newer = { ...record(H('b'), 'running'), definedAt: '2026-02-01T00:00:00.000Z' };
    const views = ExecutionRecordsSchema.parse(recordViews([older, newer], () => undefined));
    assert.deepEqual(views.map((v) => v.vm_hash), [H('b'), H('a')]);
    assert.deepEqual(views[0]?.message, message.content);
    const details = ExecutionDetailsSchema.parse(detailViews(live));
    assert.equal(details[0][H('a')]?.is_running, true);
    assert.equal(details[0][H('c')]?.is_running, false);
    assert.match(executionUuid(H('a'), 'x'), /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('/about/usage/system always has every field, core_frequencies included', () => {
    const usage = SystemUsageAnswerSchema.parse(systemUsage({ committed: { vcpus: 0, memoryMib: 0, diskMib: 0 }, memoryMib: 1024, disk: { totalMib: 100, availableMib: -5 } }));
    assert.ok(usage.cpu.core_frequencies.max >= usage.cpu.core_frequencies.min);
    assert.equal(usage.disk.available_kB, 0);
  });
});
