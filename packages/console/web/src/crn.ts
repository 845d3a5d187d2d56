/**
 * The CRN console: capacity and usage charts, executions (state, owner, payment), the monitors'
 * checks, and for the operator (after logging in with the node's login token) the node's settings,
 * live execution details and logs.
 */
import '../style.css';
import { lineChart } from './chart.ts';
import { badge, every, fill, getJson, h, short, table, when } from './dom.ts';

interface Usage { interval_seconds: number; samples: { t: number; load1: number; memory_used_mib: number; memory_total_mib: number; committed_vcpus: number; committed_memory_mib: number; disk_free_mib: number; executions: number }[] }
interface StatusConfig { isolation?: Record<string, unknown>; DOMAIN_NAME: string; node_hash: string | null; version: string; executor: string; references: { API_SERVER: string }; payment: { PAYMENT_RECEIVER_ADDRESS: string } }
interface ListEntry { state: string; running: boolean; vm_type: string; status: Record<string, string | null>; payment?: { status: string }; stop_reason?: string; last_error?: string }
interface RecordEntry { vm_hash: string; vm_type: string; persistent: boolean; state: string; owner: string; vcpus: number; memory: number; disk_mib: number; time_defined: string | null; time_started: string | null; last_error: string | null; message: { payment?: { type?: string; chain?: string } } | null }

/** The payment type of the message, and the node's last payment verdict when it enforces payments. */
function paymentOf(entry: ListEntry | undefined, rec: RecordEntry): string {
  const type = rec.message?.payment?.type ?? 'hold';
  return entry?.payment ? `${type}: ${entry.payment.status}` : type;
}

async function refreshNode(): Promise<void> {
  const c = await getJson<StatusConfig>('/status/config');
  fill('identity', c.node_hash ? h('span', {}, 'node ', short(c.node_hash)) : 'not registered');
  fill('isolation', h('p', {}, `executor ${c.executor}`), isolationTable(c));
  fill(
    'config',
    h('dl', { class: 'kv' }, h('dt', {}, 'version'), h('dd', {}, c.version), h('dt', {}, 'domain'), h('dd', {}, c.DOMAIN_NAME), h('dt', {}, 'executor'), h('dd', {}, c.executor), h('dt', {}, 'CCN'), h('dd', {}, c.references.API_SERVER), h('dt', {}, 'payment receiver'), h('dd', {}, c.payment.PAYMENT_RECEIVER_ADDRESS)),
  );
}

/** What the executor really enforces (the sandbox half of `crn doctor`): each guarantee, held or not. */
function isolationTable(c: StatusConfig): HTMLTableElement {
  const labels: Record<string, string> = {
    jailed: 'each workload runs as its own unprivileged uid',
    virtualized: 'a guest kernel between workload and host',
    seccomp: 'system calls filtered',
    cgroups: 'per-workload memory, CPU and pids limits',
    egressFiltered: 'outbound traffic limited to public addresses',
  };
  return table(
    ['guarantee', 'held'],
    Object.entries(labels).map(([k, label]) => [label, badge(c.isolation?.[k] === true ? 'pass' : 'fail')]),
    'isolation-table',
  );
}

async function refreshUsage(): Promise<void> {
  const u = await getJson<Usage>('/console/api/usage');
  const s = u.samples;
  const total = s.at(-1)?.memory_total_mib ?? 0;
  fill(
    'charts',
    lineChart('CPU load (1 min average)', [{ label: 'load', values: s.map((x) => x.load1), cls: 's1' }], 1, ''),
    lineChart('Memory (MiB)', [{ label: 'host used', values: s.map((x) => x.memory_used_mib), cls: 's1' }, { label: 'committed', values: s.map((x) => x.committed_memory_mib), cls: 's2' }], total, 'MiB'),
    lineChart('Executions and committed vCPUs', [{ label: 'executions', values: s.map((x) => x.executions), cls: 's1' }, { label: 'vCPUs', values: s.map((x) => x.committed_vcpus), cls: 's2' }], 1, ''),
    lineChart('Free disk (MiB)', [{ label: 'free', values: s.map((x) => x.disk_free_mib), cls: 's3' }], 0, 'MiB'),
  );
}

async function refreshExecutions(): Promise<void> {
  const [list, records] = await Promise.all([getJson<Record<string, ListEntry>>('/v2/about/executions/list'), getJson<RecordEntry[]>('/about/executions/records')]);
  fill(
    'executions',
    table(
      ['execution', 'type', 'state', 'owner', 'payment', 'resources', 'defined', 'started', 'last error', ''],
      records.map((r) => {
        const entry = list[r.vm_hash];
        const logs = h('button', { type: 'button', 'data-ref': r.vm_hash }, 'logs');
        logs.addEventListener('click', () => void showLogs(r.vm_hash));
        return [short(r.vm_hash), `${r.vm_type}${r.persistent ? ' (persistent)' : ''}`, badge(entry?.state ?? r.state), short(r.owner), paymentOf(entry, r), `${r.vcpus} vCPU, ${r.memory} MiB, ${r.disk_mib} MiB disk`, when(r.time_defined), when(r.time_started), entry?.stop_reason ?? r.last_error ?? '', logs];
      }),
      'exec-table',
    ),
  );
}

async function check(path: string): Promise<HTMLElement> {
  try {
    const res = await fetch(path, { headers: { accept: 'application/json' } });
    const body = await res.text();
    return h('span', {}, badge(res.ok ? 'ok' : `failed (${res.status})`), ' ', h('code', {}, body.slice(0, 200)));
  } catch (e) {
    return badge(`error: ${e instanceof Error ? e.message : String(e)}`);
  }
}

async function refreshChecks(): Promise<void> {
  // The probes the network's monitors run against a CRN (the version check needs their reference
  // release, and the diagnostic program check starts a VM: the monitors' own reports have those).
  const paths = ['/status/check/host', '/status/check/ipv6', '/about/usage/system', '/status/config'];
  const results = await Promise.all(paths.map(check));
  fill('checks', table(['check', 'result'], paths.map((p, i) => [h('code', {}, p), results[i] as HTMLElement]), 'checks-table'));
}

async function showLogs(ref: string): Promise<void> {
  const res = await fetch(`/about/executions/logs?ref=${encodeURIComponent(ref)}`);
  if (res.status === 401) {
    fill('operator-view', h('p', {}, 'log in as the operator to read logs'));
    return;
  }
  const body = (await res.json()) as { lines?: { stream: string; time: number; text: string }[] };
  fill('operator-view', h('h3', {}, 'logs of ', short(ref)), h('pre', { class: 'logs', 'data-testid': 'logs' }, (body.lines ?? []).map((l) => `${when(l.time)} ${l.stream} ${l.text}`).join('\n') || '(no lines)'));
  document.getElementById('operator')?.scrollIntoView();
}

/** The operator view: the login cookie (HttpOnly, Path=/about) is sent on these requests only. */
async function refreshOperator(): Promise<boolean> {
  const res = await fetch('/about/executions/details');
  if (res.status === 401) {
    fill('login-state', badge('logged out'));
    return false;
  }
  // aleph-vm 1.14's shape: a one-element list of {ref: detail}.
  type Detail = { state: string; concurrent_runs: number; persistent: boolean; endpoint: { host: string; port: number } | null };
  const answer = (await res.json()) as unknown;
  const details = (Array.isArray(answer) ? (answer[0] ?? {}) : {}) as Record<string, Detail>;
  fill('login-state', badge('logged in'));
  fill(
    'operator-view',
    h('h3', {}, 'Live executions'),
    table(['execution', 'state', 'in flight', 'persistent', 'endpoint'], Object.entries(details).map(([ref, d]) => [short(ref), badge(d.state), d.concurrent_runs, String(d.persistent), d.endpoint ? `${d.endpoint.host}:${d.endpoint.port}` : '—']), 'details-table'),
  );
  return true;
}

document.getElementById('login')?.addEventListener('submit', (event) => {
  event.preventDefault();
  const token = (document.getElementById('token') as HTMLInputElement).value.trim();
  void (async () => {
    // The answer is a redirect that sets the cookie; not followed (manual), the cookie is kept.
    await fetch(`/about/login?token=${encodeURIComponent(token)}`, { redirect: 'manual' });
    (document.getElementById('token') as HTMLInputElement).value = '';
    if (!(await refreshOperator())) fill('login-state', badge('wrong token'));
  })();
});

void refreshOperator();
void refreshChecks();
every(2000, async () => {
  await Promise.all([refreshNode(), refreshUsage(), refreshExecutions()]);
});
