/** A small SVG line chart: a few series of values sampled over time, no library. */
const NS = 'http://www.w3.org/2000/svg';

export interface Series {
  label: string;
  values: number[];
  cls: string;
}

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>): SVGElementTagNameMap[K] {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

export function lineChart(title: string, series: Series[], max: number, unit: string): HTMLElement {
  const width = 360;
  const height = 120;
  const top = Math.max(max, ...series.flatMap((s) => s.values), 1e-9);
  const root = svg('svg', { viewBox: `0 0 ${width} ${height + 20}`, class: 'chart', role: 'img', 'aria-label': title });
  for (const y of [0, 0.5, 1]) root.append(svg('line', { x1: 0, x2: width, y1: height - y * height, y2: height - y * height, class: 'grid' }));
  const label = svg('text', { x: 2, y: 12, class: 'axis' });
  label.textContent = `${top.toFixed(top < 10 ? 2 : 0)} ${unit}`;
  root.append(label);
  series.forEach((s, i) => {
    const n = s.values.length;
    if (n > 0) {
      const step = n > 1 ? width / (n - 1) : 0;
      const points = s.values.map((v, j) => `${(j * step).toFixed(1)},${(height - (v / top) * height).toFixed(1)}`).join(' ');
      root.append(svg('polyline', { points, class: `line ${s.cls}` }));
    }
    const legend = svg('text', { x: 2 + i * 120, y: height + 16, class: `legend ${s.cls}` });
    legend.textContent = `${s.label}: ${n > 0 ? (s.values[n - 1] as number).toFixed(2) : '—'}`;
    root.append(legend);
  });
  const figure = document.createElement('figure');
  const caption = document.createElement('figcaption');
  caption.textContent = title;
  figure.append(caption, root);
  return figure;
}
