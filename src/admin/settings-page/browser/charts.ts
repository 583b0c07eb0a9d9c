/**
 * Inline SVG charts for the admin pages (settings page, touch-point dashboard): built with
 * createElementNS, text with textContent only (labels can be tenant data), colours from
 * classes in the stylesheet (the CSP allows no inline style). Served as
 * /settings/assets/charts.js and imported by the pages' modules.
 */
const SVG = 'http://www.w3.org/2000/svg';

export interface Series { name: string; cls: string; values: number[] }

function svgEl<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, parent?: Element): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  parent?.appendChild(node);
  return node;
}

/** A round axis maximum: 1, 2, 5 × 10^n at or above the largest stack. */
function niceMax(n: number): number {
  if (n <= 0) return 1;
  const step = Math.pow(10, Math.floor(Math.log10(n)));
  return [1, 2, 5, 10].map((m) => m * step).find((m) => m >= n) ?? 10 * step;
}

/** Stacked bars, one per label; a title per bar for pointer users, the desc sums it up for screen readers. */
export function stackedBars(host: HTMLElement, id: string, labels: string[], series: Series[], tick: (label: string, i: number) => string | null, summary: string): void {
  // Drawn at the host's own width, so the axis text keeps its size on a phone (a fixed
  // viewBox scaled down to 340 px would shrink it to unreadable).
  const W = Math.max(300, Math.min(900, host.clientWidth - 16 || 640)), H = 180, left = 34, bottom = 22, top = 8;
  const totals = labels.map((_, i) => series.reduce((s, x) => s + (x.values[i] ?? 0), 0));
  const max = niceMax(Math.max(0, ...totals));
  const svg = svgEl('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': id + '-t ' + id + '-d', class: 'chart', preserveAspectRatio: 'xMidYMid meet' });
  svgEl('title', { id: id + '-t' }, svg).textContent = host.dataset.title ?? '';
  svgEl('desc', { id: id + '-d' }, svg).textContent = summary;
  const plotH = H - bottom - top;
  const y = (v: number) => top + plotH - (v / max) * plotH;
  for (const v of [0, max / 2, max]) {
    svgEl('line', { x1: left, x2: W, y1: y(v), y2: y(v), class: 'grid' }, svg);
    svgEl('text', { x: left - 4, y: y(v) + 4, class: 'axis', 'text-anchor': 'end' }, svg).textContent = String(Math.round(v));
  }
  const slot = (W - left) / Math.max(1, labels.length);
  labels.forEach((label, i) => {
    let base = 0;
    const group = svgEl('g', {}, svg);
    svgEl('title', {}, group).textContent = label + ': ' + series.map((s) => s.name + ' ' + (s.values[i] ?? 0)).join(', ');
    // A transparent full-height target, so a bar of 0 still has a tooltip.
    svgEl('rect', { x: left + i * slot, y: top, width: slot, height: plotH, class: 'hit' }, group);
    for (const s of series) {
      const v = s.values[i] ?? 0;
      if (v > 0) svgEl('rect', { x: left + i * slot + slot * 0.12, y: y(base + v), width: slot * 0.76, height: y(base) - y(base + v), class: 'bar ' + s.cls }, group);
      base += v;
    }
    const text = tick(label, i);
    if (text !== null) svgEl('text', { x: left + i * slot + slot / 2, y: H - 6, class: 'axis', 'text-anchor': 'middle' }, svg).textContent = text;
  });
  const legend = document.createElement('ul');
  legend.className = 'legend';
  for (const s of series) {
    const li = document.createElement('li');
    const swatch = document.createElement('span');
    swatch.className = 'swatch ' + s.cls;
    swatch.setAttribute('aria-hidden', 'true');
    li.append(swatch, document.createTextNode(s.name + ' (' + s.values.reduce((a, b) => a + b, 0) + ')'));
    legend.appendChild(li);
  }
  host.replaceChildren(svg, legend);
}


