/** Output for people (aligned tables) or machines (`--json`), never both. */

export function printJson(value: unknown, out: NodeJS.WritableStream = process.stdout): void {
  out.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function formatTable(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ')).join('\n');
}

export function printTable(header: readonly string[], rows: readonly (readonly string[])[], out: NodeJS.WritableStream = process.stdout): void {
  out.write(`${formatTable([header, ...rows])}\n`);
}

/** Splits text into lines of at most `width` characters, at spaces where it can. */
export function wrapText(text: string, width: number): string[] {
  const lines: string[] = [];
  let rest = text;
  while (rest.length > width) {
    const cut = rest.lastIndexOf(' ', width);
    const at = cut > width / 3 ? cut : width;
    lines.push(rest.slice(0, at).trimEnd());
    rest = rest.slice(at).trimStart();
  }
  lines.push(rest);
  return lines;
}

/**
 * A table no wider than `maxWidth` columns: each column gets its natural width up to its share of
 * what is left, and longer cells wrap onto continuation lines.
 */
export function formatWrappedTable(rows: readonly (readonly string[])[], maxWidth: number): string {
  const count = Math.max(...rows.map((r) => r.length));
  const natural = Array.from({ length: count }, (_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length), 1));
  const budget = maxWidth - 2 * (count - 1);
  const widths = [...natural];
  // Shrink the widest column until the table fits (never below 8 characters).
  while (widths.reduce((a, b) => a + b, 0) > budget) {
    const widest = widths.indexOf(Math.max(...widths));
    if ((widths[widest] ?? 0) <= 8) break;
    widths[widest] = (widths[widest] ?? 0) - 1;
  }
  const out: string[] = [];
  for (const row of rows) {
    const cells = widths.map((w, i) => wrapText(row[i] ?? '', w));
    const height = Math.max(...cells.map((c) => c.length));
    for (let l = 0; l < height; l++) {
      out.push(cells.map((c, i) => (i === count - 1 ? (c[l] ?? '') : (c[l] ?? '').padEnd(widths[i] ?? 0))).join('  ').trimEnd());
    }
  }
  return out.join('\n');
}
