/**
 * Styles of the settings page's charts and paged DLQ table (browser/activity.ts). Series
 * colours come from classes (the CSP allows no inline style); the palette is
 * colour-blind-safe (Okabe–Ito) and every series is also named in the legend and in each
 * bar's tooltip, so colour is never the only cue (WCAG 1.4.1).
 */
export const ACTIVITY_CSS = String.raw`
/* An empty error line shows nothing (its ⚠ comes from ::before). */
#activity-error:empty, #tp-error:empty { display: none; }
figure { margin: 0 0 1rem; }
figcaption { font-weight: 600; margin-bottom: .25rem; }
.chart-host { background: var(--bg); border: 1px solid var(--line); border-radius: .375rem; padding: .5rem; }
svg.chart { display: block; width: 100%; height: auto; }
svg.chart .grid { stroke: #d9dbe0; stroke-width: 1; }
svg.chart .axis { fill: var(--muted); font-size: 11px; }
svg.chart .hit { fill: transparent; }
svg.chart g:hover .hit { fill: #eef2fb; }
.c0, .s0 { fill: #0072b2; background: #0072b2; }
.c1, .s1 { fill: #009e73; background: #009e73; }
.c2, .s2 { fill: #e69f00; background: #e69f00; }
.s3 { fill: #d55e00; background: #d55e00; }
.s4 { fill: #cc79a7; background: #cc79a7; }
.s5 { fill: #56b4e9; background: #56b4e9; }
.replayed { fill: #5b5b63; background: #5b5b63; }
.legend { list-style: none; display: flex; flex-wrap: wrap; gap: .25rem 1rem; padding: 0; margin: .5rem 0 0; font-size: .9rem; }
.swatch { display: inline-block; width: .8rem; height: .8rem; border-radius: 2px; margin-right: .35rem; vertical-align: -1px; }
.table-scroll { overflow-x: auto; background: var(--bg); border: 1px solid var(--line); border-radius: .375rem; }
.dlq-table { border-collapse: collapse; width: 100%; font-size: .9rem; }
.dlq-table th, .dlq-table td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
.dlq-table th { background: var(--panel); }
.dlq-table .mono { font-family: ui-monospace, monospace; overflow-wrap: anywhere; }
.dlq-table .msg { overflow-wrap: anywhere; min-width: 12rem; }
.dlq-table td:nth-child(4) { white-space: nowrap; }
/* A phone shows each row as a small card: column name, value. */
@media (max-width: 40rem) {
  .dlq-table thead { display: none; }
  .dlq-table tr { display: block; padding: .4rem .5rem; border-bottom: 1px solid var(--line); }
  .dlq-table td { display: flex; gap: .5rem; padding: .05rem 0; border: 0; min-width: 0; white-space: normal; }
  .dlq-table td::before { content: attr(data-label); flex: 0 0 4.5rem; color: var(--muted); font-family: system-ui, sans-serif; }
  .dlq-table .msg { min-width: 0; }
}
`;
