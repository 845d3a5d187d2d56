/**
 * The Python SDK (aleph-sdk-python, from PyPI: scripts/setup-debian.sh) against a real CRN (process
 * executor) and CCN, with running and stopped executions: the SDK's own calls and pydantic models
 * read our answers — `Crn.get_active_vms_v2` / `_v1` (CrnV2List / CrnV1List validate the whole
 * list: one null where a string is wanted fails every entry), `SystemUsage` for
 * `/about/usage/system`, `VmClient` for owner operations and the `stream_logs` websocket. The
 * records and details have no SDK model: they are checked against models of aleph-vm 1.14's
 * shapes (`ExecutionRecord` columns, `[{hash: execution}]`) written in the script.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EthAccount, ExecutionListV1Schema, ExecutionListV2Schema, ExecutionRecordsSchema, ExecutionDetailsSchema, SystemUsageAnswerSchema, signAllocationRequest } from '@aleph-nodes/protocol';
import { ECHO_PROGRAM, OWNER_KEY, startNodes, type Nodes } from '../crn/helpers/nodes.ts';
import { pythonClientsSkipReason, runSdk, SDK_PREAMBLE } from './helpers/python.ts';

type Json = Record<string, unknown>;

const skip = pythonClientsSkipReason();
const scheduler = EthAccount.generate();

const CRN_PREAMBLE = `${SDK_PREAMBLE}
import aiohttp
from datetime import datetime
from typing import Any, Dict, List, Optional
from pydantic import BaseModel, ConfigDict
from aleph.sdk.client.services.crn import Crn, SystemUsage
from aleph.sdk.client.vm_client import VmClient
from aleph.sdk.types import CrnV1List, CrnV2List

CRN = os.environ["CRN"]

async def get_json(path, headers=None):
    async with aiohttp.ClientSession() as s:
        async with s.get(CRN + path, headers=headers or {}) as r:
            r.raise_for_status()
            return await r.json()
`;

describe('Python SDK against a CRN', { skip, timeout: 600_000 }, () => {
  let nodes: Nodes;
  let running = '';
  let persistent = '';
  let stopped = '';
  const sdk = <T = Json>(body: string): Promise<T> =>
    runSdk<T>(`${CRN_PREAMBLE}\nasync def main():\n${body.replace(/^/gm, '    ')}\nasyncio.run(main())\n`, { API: nodes.ccn.url, CRN: nodes.crn.url, KEY: OWNER_KEY.replace(/^0x/, '') });

  before(async () => {
    nodes = await startNodes({ authorizedAllocationSigners: [scheduler.address], idleTimeoutSeconds: 3600 });
    [running, persistent, stopped] = await Promise.all([
      nodes.publishProgram(ECHO_PROGRAM, { variables: { FOO: 'running' } }),
      nodes.publishProgram(ECHO_PROGRAM, { persistent: true, variables: { FOO: 'persistent' } }),
      nodes.publishProgram(ECHO_PROGRAM, { variables: { FOO: 'stopped' } }),
    ]);
    for (const ref of [running, stopped]) {
      const res = await fetch(`${nodes.crn.url}/vm/${ref}/hello`);
      assert.equal(res.status, 200, await res.text());
    }
    const body = JSON.stringify({ persistent_vms: [persistent], instances: [] });
    const push = await fetch(`${nodes.crn.url}/control/allocations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: signAllocationRequest(scheduler, { method: 'POST', path: '/control/allocations', body, iat: Math.floor(Date.now() / 1000), target: { nodeHash: null, url: nodes.crn.url } }) },
      body,
    });
    assert.equal(push.status, 200, await push.text());
  });
  after(async () => {
    await nodes?.close();
  });

  it('the owner stops a program with VmClient; its logs come over stream_logs, running and stopped', async () => {
    const res = await sdk<Json>(`
vm = VmClient(account(), CRN)
try:
    status, text = await vm.stop_instance("${stopped}")
    frames = {}
    async def read(ref, most):
        got = []
        async for frame in vm.get_logs(ref):
            got.append(json.loads(frame))
            if len(got) >= most:
                break
        return got
    frames["${running}"] = await asyncio.wait_for(read("${running}", 2), 60)
    frames["${stopped}"] = await asyncio.wait_for(read("${stopped}", 1000), 60)
finally:
    await vm.session.close()
out({"status": status, "text": text, "frames": frames})
`);
    assert.equal(res.status, 200, String(res.text));
    assert.equal(res.text, `Stopped VM with ref ${stopped}`);
    const frames = res.frames as Record<string, Json[]>;
    // Live: connected, then the program's output.
    assert.deepEqual(frames[running]?.[0], { status: 'connected' });
    assert.ok(frames[running]?.slice(1).every((f) => typeof f.message === 'string' && ['stdout', 'stderr'].includes(String(f.type))), JSON.stringify(frames[running]));
    // Stopped: connected, its past output, then aleph-vm's closing line.
    const past = frames[stopped] ?? [];
    assert.deepEqual(past[0], { status: 'connected' });
    assert.deepEqual(past.at(-1), { type: 'system', message: 'VM is not running, past logs sent' });
  });

  it("the execution lists (v2 and v1) and the system usage pass the SDK's models", async () => {
    const res = await sdk<Json>(`
async with AlephHttpClient(api_server=os.environ["API"]) as c:
    v2 = await c.crn.get_active_vms_v2(CRN)
    v1 = await c.crn.get_active_vms_v1(CRN)
    vm = await c.crn.get_vm(CRN, "${persistent}")
usage = SystemUsage.model_validate(await get_json("/about/usage/system"))
out({"v2": v2.model_dump(mode="json"), "v1": v1.model_dump(mode="json"), "vm_running": vm.running,
     "usage": usage.model_dump(mode="json")})
`);
    const v2 = res.v2 as Record<string, { running: boolean; status: { stopped_at: string | null; started_at: string | null }; networking: Json }>;
    assert.equal(v2[running]?.running, true);
    assert.equal(v2[persistent]?.running, true);
    assert.equal(res.vm_running, true);
    // Stopped as aleph-vm shows a VM that is not running: running false, its stop time set.
    assert.equal(v2[stopped]?.running, false);
    assert.ok(v2[stopped]?.status.stopped_at, JSON.stringify(v2[stopped]));
    assert.equal(v2[stopped]?.networking.ipv4_network, '');
    assert.match(String(v2[running]?.networking.ipv4_network), /^\d+\.\d+\.\d+\.\d+\/30$/);
    const v1 = res.v1 as Record<string, Json>;
    assert.deepEqual(Object.keys(v1).sort(), [running, persistent].sort(), 'v1 lists the running executions only');
    const usage = res.usage as { cpu: { count: number; core_frequencies: { min: number; max: number } }; mem: { total_kB: number } };
    assert.ok(usage.cpu.count > 0);
    assert.ok(usage.cpu.core_frequencies.max >= usage.cpu.core_frequencies.min);
    // Our own schemas (protocol crn-api) accept what we serve, too.
    ExecutionListV2Schema.parse(await (await fetch(`${nodes.crn.url}/v2/about/executions/list`)).json());
    ExecutionListV1Schema.parse(await (await fetch(`${nodes.crn.url}/about/executions/list`)).json());
    SystemUsageAnswerSchema.parse(await (await fetch(`${nodes.crn.url}/about/usage/system`)).json());
  });

  it("the execution records and details have aleph-vm's shapes", async () => {
    const token = readFileSync(join(nodes.crnDataDir, 'login.token'), 'utf8').trim();
    const res = await sdk<Json>(`
class PortMapping(BaseModel):
    model_config = ConfigDict(extra="forbid")
    host: int
    tcp: bool
    udp: bool

class ExecutionRecord(BaseModel):
    """aleph-vm 1.14 orchestrator/metrics.py ExecutionRecord (its columns)."""
    uuid: str
    vm_hash: str
    vm_id: Optional[int]
    time_defined: datetime
    time_prepared: Optional[datetime]
    time_started: Optional[datetime]
    time_stopping: Optional[datetime]
    cpu_time_user: Optional[float]
    cpu_time_system: Optional[float]
    io_read_count: Optional[int]
    io_write_count: Optional[int]
    io_read_bytes: Optional[int]
    io_write_bytes: Optional[int]
    vcpus: int
    memory: int
    network_tap: Optional[str]
    message: Optional[Dict[str, Any]]
    original_message: Optional[Dict[str, Any]]
    persistent: Optional[bool]
    gpus: Optional[List[Any]]
    mapped_ports: Optional[Dict[str, PortMapping]]

class Times(BaseModel):
    model_config = ConfigDict(extra="forbid")
    defined_at: datetime
    preparing_at: Optional[datetime]
    prepared_at: Optional[datetime]
    starting_at: Optional[datetime]
    started_at: Optional[datetime]
    stopping_at: Optional[datetime]
    stopped_at: Optional[datetime]

class Execution(BaseModel):
    """The keys of aleph-vm's VmExecution.to_dict() that clients read."""
    is_running: bool
    vm_hash: str
    uuid: str
    times: Times
    persistent: bool
    mapped_ports: Dict[str, PortMapping]
    gpus: List[Any]

records = [ExecutionRecord.model_validate(r) for r in await get_json("/about/executions/records")]
details = await get_json("/about/executions/details", {"Cookie": "token=${token}"})
assert isinstance(details, list) and len(details) == 1, details
executions = {h: Execution.model_validate(e) for h, e in details[0].items()}
out({"records": [r.model_dump(mode="json") for r in records], "details": {h: e.model_dump(mode="json") for h, e in executions.items()}})
`);
    const records = res.records as { vm_hash: string; time_defined: string; message: Json | null; persistent: boolean }[];
    assert.deepEqual(new Set(records.map((r) => r.vm_hash)), new Set([running, persistent, stopped]));
    const defined = records.map((r) => Date.parse(r.time_defined));
    assert.deepEqual(defined, [...defined].sort((a, b) => b - a), 'newest first, as aleph-vm');
    assert.equal(records.find((r) => r.vm_hash === persistent)?.persistent, true);
    assert.equal(typeof records[0]?.message?.address, 'string', 'message is the executable content');
    const details = res.details as Record<string, { is_running: boolean; persistent: boolean }>;
    assert.deepEqual(Object.keys(details).sort(), [running, persistent].sort(), 'the live executions');
    assert.equal(details[persistent]?.persistent, true);
    assert.equal(details[running]?.is_running, true);
    ExecutionRecordsSchema.parse(await (await fetch(`${nodes.crn.url}/about/executions/records`)).json());
    ExecutionDetailsSchema.parse(await (await fetch(`${nodes.crn.url}/about/executions/details`, { headers: { cookie: `token=${token}` } })).json());
  });
});
