/** Results as Markdown tables: printed to the terminal and written into docs/BENCHMARKS.md. */
export interface Table {
  title: string;
  note?: string;
  columns: string[];
  rows: string[][];
}

export function renderTable(table: Table): string {
  const widths = table.columns.map((c, i) => Math.max(c.length, ...table.rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (c ?? '').padEnd(widths[i]!)).join(' | ')} |`;
  return [
    `#### ${table.title}`,
    '',
    ...(table.note ? [table.note, ''] : []),
    line(table.columns),
    `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`,
    ...table.rows.map(line),
    '',
  ].join('\n');
}
