/**
 * Plain inline SVG charts (no library, no network): vertical bars per day (stacked series) and
 * horizontal bars per category. Colours are CSS variables, so light and dark mode restyle them.
 */
export const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export interface Series {
  name: string;
  /** CSS colour, typically var(--c1). */
  color: string;
  values: number[];
}

function niceMax(max: number): number {
  if (max <= 0) return 1;
  const exp = 10 ** Math.floor(Math.log10(max));
  const m = max / exp;
  const nice = m <= 1 ? 1 : m <= 2 ? 2 : m <= 2.5 ? 2.5 : m <= 5 ? 5 : 10;
  return nice * exp;
}

const fmt = (v: number, unit: string) => (unit === '$' ? `$${v < 1 && v > 0 ? v.toFixed(v < 0.01 ? 4 : 2) : v.toFixed(v >= 100 ? 0 : 2)}` : Number.isInteger(v) ? String(v) : v.toFixed(2));

/** Stacked vertical bars, one column per label (days). */
export function columnChart(id: string, labels: string[], series: Series[], opts: { unit?: string; height?: number } = {}): string {
  const unit = opts.unit ?? '';
  const w = 640;
  const h = opts.height ?? 200;
  const pad = { l: 44, r: 8, t: 10, b: 26 };
  const totals = labels.map((_, i) => series.reduce((s, x) => s + (x.values[i] ?? 0), 0));
  const max = niceMax(Math.max(0, ...totals));
  const plotW = w - pad.l - pad.r;
  const plotH = h - pad.t - pad.b;
  const step = plotW / Math.max(1, labels.length);
  const barW = Math.max(2, Math.min(28, step * 0.64));
  const y = (v: number) => pad.t + plotH - (v / max) * plotH;
  const parts: string[] = [];
  for (let g = 0; g <= 4; g++) {
    const v = (max / 4) * g;
    parts.push(`<line class="grid" x1="${pad.l}" x2="${w - pad.r}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}"/>`);
    parts.push(`<text class="axis" x="${pad.l - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${esc(fmt(v, unit))}</text>`);
  }
  let points = 0;
  labels.forEach((label, i) => {
    const x = pad.l + step * i + (step - barW) / 2;
    let base = 0;
    for (const s of series) {
      const v = s.values[i] ?? 0;
      if (v <= 0) continue;
      points += 1;
      const top = y(base + v);
      const height = y(base) - top;
      parts.push(`<rect class="bar" x="${x.toFixed(1)}" y="${top.toFixed(1)}" width="${barW.toFixed(1)}" height="${Math.max(1, height).toFixed(1)}" rx="2" fill="${s.color}"><title>${esc(`${label} · ${s.name}: ${fmt(v, unit)}`)}</title></rect>`);
      base += v;
    }
    const every = Math.ceil(labels.length / 8);
    if (i % every === 0 || i === labels.length - 1) {
      parts.push(`<text class="axis" x="${(x + barW / 2).toFixed(1)}" y="${h - 8}" text-anchor="middle">${esc(label.slice(5))}</text>`);
    }
  });
  const legend = series.map((s) => `<span class="key"><i style="background:${s.color}"></i>${esc(s.name)}</span>`).join('');
  return `<figure class="chart" id="${esc(id)}" data-chart="${esc(id)}" data-points="${points}">
<svg viewBox="0 0 ${w} ${h}" role="img" aria-label="${esc(id)}" preserveAspectRatio="none">${parts.join('')}</svg>
<figcaption>${legend}</figcaption>${points === 0 ? '<p class="empty">No data in this period.</p>' : ''}</figure>`;
}

/** Horizontal bars, one row per category, largest first. */
export function barList(id: string, rows: Array<{ label: string; value: number; note?: string }>, opts: { color?: string; unit?: string } = {}): string {
  const max = Math.max(0, ...rows.map((r) => r.value));
  const items = rows
    .map((r) => {
      const pctW = max === 0 ? 0 : Math.max(2, (r.value / max) * 100);
      return `<li><span class="label" title="${esc(r.label)}">${esc(r.label)}</span><span class="track"><svg viewBox="0 0 100 10" preserveAspectRatio="none"><rect class="bar" x="0" y="0" width="${pctW.toFixed(1)}" height="10" rx="1.5" fill="${opts.color ?? 'var(--c1)'}"><title>${esc(`${r.label}: ${r.value}`)}</title></rect></svg></span><span class="value">${esc(fmt(r.value, opts.unit ?? ''))}${r.note ? ` <small>${esc(r.note)}</small>` : ''}</span></li>`;
    })
    .join('');
  return `<figure class="chart bars" id="${esc(id)}" data-chart="${esc(id)}" data-points="${rows.filter((r) => r.value > 0).length}"><ul>${items}</ul>${rows.length === 0 ? '<p class="empty">No data in this period.</p>' : ''}</figure>`;
}
