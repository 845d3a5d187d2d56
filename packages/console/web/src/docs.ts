/** The API docs page: renders this node's /openapi.json (paths, parameters, bodies, answers). */
import '../style.css';
import { fill, h } from './dom.ts';

interface Operation { summary?: string; description?: string; tags?: string[]; parameters?: { name: string; in: string; required?: boolean; schema?: unknown; description?: string }[]; requestBody?: { content: Record<string, { schema?: unknown }> }; responses?: Record<string, { description?: string; content?: Record<string, { schema?: unknown }> }> }
interface Doc { info: { title: string; version: string; description?: string }; paths: Record<string, Record<string, Operation>> }

const json = (v: unknown): HTMLElement => h('pre', {}, JSON.stringify(v, null, 2));

async function main(): Promise<void> {
  const res = await fetch('/openapi.json');
  if (!res.ok) throw new Error(`/openapi.json: HTTP ${res.status}`);
  const doc = (await res.json()) as Doc;
  document.title = `${doc.info.title} ${doc.info.version}`;
  fill('api-title', `${doc.info.title} ${doc.info.version}`);
  const sections: HTMLElement[] = [];
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      sections.push(
        h(
          'details',
          { 'data-testid': 'operation' },
          h('summary', {}, h('code', {}, `${method.toUpperCase()} ${path}`), ' ', op.summary ?? ''),
          op.description ? h('p', {}, op.description) : null,
          op.parameters?.length ? h('div', {}, h('h4', {}, 'Parameters'), h('ul', {}, ...op.parameters.map((p) => h('li', {}, h('code', {}, p.name), ` (${p.in}${p.required ? ', required' : ''}) `, p.description ?? '', p.schema ? json(p.schema) : null)))) : null,
          op.requestBody ? h('div', {}, h('h4', {}, 'Body'), ...Object.entries(op.requestBody.content).map(([type, c]) => h('div', {}, h('code', {}, type), json(c.schema ?? {})))) : null,
          h('h4', {}, 'Answers'),
          h('ul', {}, ...Object.entries(op.responses ?? {}).map(([code, r]) => h('li', {}, h('code', {}, code), ` ${r.description ?? ''}`, ...Object.values(r.content ?? {}).map((c) => (c.schema ? json(c.schema) : null))))),
        ),
      );
    }
  }
  fill('operations', ...sections);
  fill('status-line', `${sections.length} operations`);
  document.body.dataset.loaded = 'true';
}

main().catch((e: unknown) => fill('status-line', e instanceof Error ? e.message : String(e)));
