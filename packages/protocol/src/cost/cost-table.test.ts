/**
 * The cost table against pyaleph's worked examples (tests/services/test_cost_service.py): same
 * contents, same default pricing aggregate, same digits. Each test names its numbers.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { completeProgram, completeVolumes, confidentialEnvironment, flowCompleteVolumes, holdInstance, sampleInstance, streamPayment } from './fixtures.test-support.ts';
import { messageCost, type CostDetail } from './index.ts';

const line = (detail: CostDetail[], type: string): CostDetail | undefined => detail.find((d) => d.type === type);

describe('instances (pyaleph test_cost_service)', () => {
  it('instance 1 vCPU 2 GiB 20 GiB rootfs, hold = 1000 ALEPH', () => {
    const c = messageCost('INSTANCE', holdInstance);
    assert.equal(c.paymentType, 'hold');
    assert.equal(c.product, 'instance');
    assert.equal(c.computeUnits, 1);
    assert.equal(c.cost, '1000.000000000000000000');
  });

  it('confidential instance 1 vCPU 2 GiB, hold = 2000 ALEPH', () => {
    const c = messageCost('INSTANCE', { ...holdInstance, environment: confidentialEnvironment });
    assert.equal(c.product, 'instance_confidential');
    assert.equal(c.cost, '2000.000000000000000000');
  });

  it('20 GiB rootfs is the included disk of 1 CU: additional storage hold = 0 (rootfs 1024, discount -1024)', () => {
    const { detail } = messageCost('INSTANCE', holdInstance);
    assert.equal(line(detail, 'EXECUTION_INSTANCE_VOLUME_ROOTFS')?.hold, '1024.000000000000000000');
    assert.equal(line(detail, 'EXECUTION_VOLUME_DISCOUNT')?.hold, '-1024.000000000000000000');
    assert.deepEqual(detail.map((d) => d.type), ['EXECUTION', 'EXECUTION_INSTANCE_VOLUME_ROOTFS', 'EXECUTION_VOLUME_DISCOUNT']);
  });

  it('instance with 50+100+100+100 MiB volumes (ephemeral charged too), hold = 1017.5 ALEPH', () => {
    const c = messageCost('INSTANCE', { ...holdInstance, volumes: completeVolumes });
    assert.equal(c.cost, '1017.500000000000000000');
    assert.deepEqual(
      c.detail.map((d) => d.name),
      ['instance', 'EXECUTION_INSTANCE_VOLUME_ROOTFS', '#0:/var/cache', '#1:/var/lib/sqlite', '#2:/var/lib/statistics', '#3:EXECUTION_VOLUME_PERSISTENT', 'EXECUTION_VOLUME_DISCOUNT'],
    );
  });

  it('instance paid by stream, 1 CU: 0.055/h = 0.000015277777777777 ALEPH/s', () => {
    const c = messageCost('INSTANCE', { ...holdInstance, payment: streamPayment });
    assert.equal(c.paymentType, 'superfluid');
    assert.equal(c.cost, '0.000015277777777777');
    assert.equal(c.streamPerSecond, c.cost);
    assert.equal(c.streamPerHour, '0.054999999999997200'); // the per-second sum × 3600, as a monitor reading the API sees it
  });

  it('confidential instance paid by stream: 0.11/h = 0.000030555555555555 ALEPH/s', () => {
    const c = messageCost('INSTANCE', { ...holdInstance, payment: streamPayment, environment: confidentialEnvironment });
    assert.equal(c.cost, '0.000030555555555555');
  });

  it('stream instance with 50+1024+10240+51200 MiB volumes = 0.000032243382777775 ALEPH/s (discount floored to ...445)', () => {
    const c = messageCost('INSTANCE', { ...holdInstance, payment: streamPayment, volumes: flowCompleteVolumes });
    assert.equal(c.cost, '0.000032243382777775');
    assert.equal(line(c.detail, 'EXECUTION_VOLUME_DISCOUNT')?.stream, '-0.000005558044444445');
  });

  it('credit instance 1 CU 20 GiB: 14250/h = 3.958333333333333333 credits/s (rootfs 1.022150487075618588 fully discounted)', () => {
    const c = messageCost('INSTANCE', { ...holdInstance, payment: { type: 'credit' } });
    assert.equal(c.cost, '3.958333333333333333');
    assert.equal(c.creditPerSecond, c.cost);
    assert.equal(line(c.detail, 'EXECUTION_INSTANCE_VOLUME_ROOTFS')?.credit, '1.022150487075618588');
    assert.equal(line(c.detail, 'EXECUTION_VOLUME_DISCOUNT')?.credit, '-1.022150487075618588');
  });

  it('credit instance with a 1 MiB rootfs: its line is the 1 credit/h floor = 0.000277777777777777 credits/s', () => {
    const c = messageCost('INSTANCE', { ...holdInstance, rootfs: { ...holdInstance.rootfs, size_mib: 1 }, payment: { type: 'credit' } });
    const rootfs = line(c.detail, 'EXECUTION_INSTANCE_VOLUME_ROOTFS');
    assert.equal(rootfs?.credit, '0.000277777777777777');
    const perHour = Number(rootfs?.credit) * 3600;
    assert.ok(Math.ceil(perHour) >= 1 && perHour <= 1);
  });

  it('hold instance with a 1 MiB rootfs: no credit floor on hold, rootfs credit 0.000049909691751739', () => {
    const c = messageCost('INSTANCE', { ...holdInstance, rootfs: { ...holdInstance.rootfs, size_mib: 1 } });
    assert.equal(line(c.detail, 'EXECUTION_INSTANCE_VOLUME_ROOTFS')?.credit, '0.000049909691751739');
  });

  it('4 vCPU 2 GiB instance = 4 CU: hold 4000, 80 GiB included disk', () => {
    const c = messageCost('INSTANCE', { ...holdInstance, resources: { vcpus: 4, memory: 2048 }, rootfs: { ...holdInstance.rootfs, size_mib: 81_920 } });
    assert.equal(c.computeUnits, 4);
    assert.equal(c.cost, '4000.000000000000000000');
  });

  it('1 vCPU 6 GiB instance = 3 CU (memory wins): hold 3000; 100 GiB rootfs: +(102400-61440)×0.05 = 2048 → 5048', () => {
    const c = messageCost('INSTANCE', { ...holdInstance, resources: { vcpus: 1, memory: 6144 }, rootfs: { ...holdInstance.rootfs, size_mib: 102_400 } });
    assert.equal(c.computeUnits, 3);
    assert.equal(c.cost, '5048.000000000000000000');
  });

  it('api sample: 1 vCPU 128 MiB 20 GiB rootfs, no internet = 1000 hold; credit = 3.958333333333333333/s', () => {
    assert.equal(messageCost('INSTANCE', sampleInstance).cost, '1000.000000000000000000');
    const credit = messageCost('INSTANCE', { ...sampleInstance, payment: { chain: 'ETH', type: 'credit' } });
    assert.equal(credit.paymentType, 'credit');
    assert.equal(credit.cost, '3.958333333333333333');
  });

  it('api sample with a 1 GiB persistent volume: hold 1000 + 51.2 - 51.2 (still inside 20 GiB) = 1000', () => {
    const c = messageCost('INSTANCE', { ...sampleInstance, rootfs: { ...sampleInstance.rootfs, size_mib: 1024 }, volumes: [{ mount: '/var/lib/data', name: 'data', persistence: 'host', size_mib: 1024 }] });
    assert.ok(line(c.detail, 'EXECUTION_VOLUME_PERSISTENT'));
    assert.equal(c.cost, '1000.000000000000000000');
  });
});

describe('programs (pyaleph test_cost_service)', () => {
  it('on-demand program with internet, 128 MiB, estimated 2048+1024+2048+512 MiB files + 1024 MiB volume: hold = 630.4 ALEPH', () => {
    const c = messageCost('PROGRAM', completeProgram);
    assert.equal(c.product, 'program');
    assert.equal(c.multiplier, 2);
    assert.equal(c.cost, '630.400000000000000000');
    assert.deepEqual(
      c.detail.map((d) => [d.name, d.hold]),
      [
        ['program', '400.000000000000000000'],
        ['EXECUTION_PROGRAM_VOLUME_CODE', '102.400000000000000000'],
        ['EXECUTION_PROGRAM_VOLUME_RUNTIME', '51.200000000000000000'],
        ['EXECUTION_PROGRAM_VOLUME_DATA', '102.400000000000000000'],
        ['#0:/mount1', '25.600000000000000000'],
        ['#1:/mount2', '51.200000000000000000'],
        ['EXECUTION_VOLUME_DISCOUNT', '-102.400000000000000000'],
      ],
    );
  });

  it('on-demand program without internet: multiplier 1, 1 CU = 200 ALEPH held', () => {
    const c = messageCost('PROGRAM', { ...completeProgram, environment: { internet: false }, volumes: [], data: undefined, code: { ...completeProgram.code, estimated_size_mib: 1 }, runtime: { ...completeProgram.runtime, estimated_size_mib: 1 } });
    assert.equal(c.multiplier, 1);
    assert.equal(c.cost, '200.000000000000000000');
  });

  it('persistent program with internet: no doubling, 1 CU = 1000 ALEPH held, 55000 credits/h = 15.277777777777777777/s', () => {
    const persistent = { ...completeProgram, on: { http: true, persistent: true }, volumes: [], data: undefined, code: { ...completeProgram.code, estimated_size_mib: 1 }, runtime: { ...completeProgram.runtime, estimated_size_mib: 1 } };
    const c = messageCost('PROGRAM', persistent);
    assert.equal(c.product, 'program_persistent');
    assert.equal(c.multiplier, 1);
    assert.equal(c.cost, '1000.000000000000000000');
    assert.equal(messageCost('PROGRAM', { ...persistent, payment: { type: 'credit' } }).cost, '15.277777777777777777');
  });

  it('on-demand program with internet paid by credits: 2 × 11000/h = 6.111111111111111111 credits/s', () => {
    const c = messageCost('PROGRAM', { ...completeProgram, payment: { type: 'credit' }, volumes: [], data: undefined, code: { ...completeProgram.code, estimated_size_mib: 1 }, runtime: { ...completeProgram.runtime, estimated_size_mib: 1 } });
    assert.equal(line(c.detail, 'EXECUTION')?.credit, '6.111111111111111111');
  });

  it('unknown code and runtime files (no estimate, no STORE) are not charged, as pyaleph: 400 ALEPH', () => {
    const { estimated_size_mib: _c, ...code } = completeProgram.code;
    const { estimated_size_mib: _r, ...runtime } = completeProgram.runtime;
    const c = messageCost('PROGRAM', { ...completeProgram, code, runtime, data: undefined, volumes: [] });
    assert.deepEqual(c.detail.map((d) => d.type), ['EXECUTION', 'EXECUTION_VOLUME_DISCOUNT']);
    assert.equal(c.cost, '400.000000000000000000');
  });

  it('referenced files are sized through the lookup (use_latest passed): a 3 MiB code file = 0.15 ALEPH, fully included', () => {
    const { estimated_size_mib: _c, ...code } = completeProgram.code;
    const asked: [string, boolean][] = [];
    const c = messageCost('PROGRAM', { ...completeProgram, code, runtime: { ...completeProgram.runtime, estimated_size_mib: 0 }, data: undefined, volumes: [] }, {
      fileSize: (ref, useLatest) => {
        asked.push([ref, useLatest]);
        return 3 * 1024 * 1024;
      },
    });
    assert.deepEqual(asked, [[completeProgram.code.ref, true], [completeProgram.runtime.ref, true]]);
    assert.equal(line(c.detail, 'EXECUTION_PROGRAM_VOLUME_CODE')?.hold, '0.150000000000000000');
    assert.equal(line(c.detail, 'EXECUTION_PROGRAM_VOLUME_CODE')?.sizeMib, 3);
    assert.equal(c.cost, '400.000000000000000000');
  });
});
