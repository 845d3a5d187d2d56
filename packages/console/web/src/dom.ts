/**
 * DOM helpers. Every value shown comes from the network (names, hashes, message contents are
 * chosen by strangers): text only ever goes in through text nodes, never as HTML.
 */
export type Child = Node | string | number | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(typeof c === 'number' ? String(c) : c);
  return el;
}

/** Replaces the content of the element with this id. */
export function fill(id: string, ...children: Child[]): void {
  const el = document.getElementById(id);
  if (!el) return;
  el.replaceChildren();
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(typeof c === 'number' ? String(c) : c);
}

export function table(headers: string[], rows: Child[][], testId?: string): HTMLTableElement {
  return h(
    'table',
    testId ? { 'data-testid': testId } : {},
    h('thead', {}, h('tr', {}, ...headers.map((x) => h('th', {}, x)))),
    h('tbody', {}, ...(rows.length === 0 ? [h('tr', {}, h('td', { colspan: String(headers.length), class: 'empty' }, 'none'))] : rows.map((r) => h('tr', {}, ...r.map((c) => h('td', {}, c)))))),
  );
}

/** A coloured state word: ok (green), warn (amber), bad (red), other (grey). */
export function badge(text: string): HTMLSpanElement {
  const kind = /^(healthy|running|active|linked|ok|pass|true|processed|delivered|live|self|connected|logged in|idle)$/i.test(text)
    ? 'ok'
    : /^(down|failed|fail|error|false|rejected|lapsed|unhealthy)/i.test(text)
      ? 'bad'
      : /^(degraded|suspect|waiting|pending|preparing|starting|stopping|unknown)/i.test(text)
        ? 'warn'
        : 'other';
  return h('span', { class: `badge ${kind}` }, text);
}

export function short(hash: string | null | undefined): HTMLElement | string {
  if (!hash) return '—';
  return h('code', { title: hash }, hash.length > 16 ? `${hash.slice(0, 8)}…${hash.slice(-6)}` : hash);
}

export function when(t: number | string | null | undefined): string {
  if (t === null || t === undefined || t === '') return '—';
  const ms = typeof t === 'number' ? (t < 1e12 ? t * 1000 : t) : Date.parse(t);
  if (!Number.isFinite(ms)) return String(t);
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

export async function getJson<T>(url: string, init?: RequestInit): Promise<T> {
  const res = await fetch(url, { ...init, headers: { accept: 'application/json' } });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

/** Runs `refresh` now and every `ms`; an error shows in the page's status line, then it retries. */
export function every(ms: number, refresh: () => Promise<void>): void {
  const tick = async (): Promise<void> => {
    try {
      await refresh();
      fill('status-line', `updated ${new Date().toLocaleTimeString()}`);
      document.body.dataset.loaded = 'true';
    } catch (e) {
      fill('status-line', h('span', { class: 'badge bad' }, e instanceof Error ? e.message : String(e)));
    }
    setTimeout(() => void tick(), ms);
  };
  void tick();
}
