import type { DashboardReport, GuardrailView, PatternView } from '../immune/report.js';
import { barList, columnChart, esc } from './svg.js';

/**
 * The dashboard as one self-contained HTML page: inline CSS and SVG, no script, no external
 * resource (a Content-Security-Policy forbids any), light and dark mode from the system setting.
 */
const CSS = `
:root{--bg:#f6f7fb;--card:#fff;--ink:#1b2333;--muted:#5d6b82;--line:#e3e7ef;--c1:#4f6bed;--c2:#e5484d;--c3:#30a46c;--c4:#f5a524;--c5:#8e4ec6;--shadow:0 1px 2px rgba(16,24,40,.06),0 1px 3px rgba(16,24,40,.08)}
@media (prefers-color-scheme:dark){:root{--bg:#0f131a;--card:#171c26;--ink:#e6e9ef;--muted:#98a2b3;--line:#2a3140;--c1:#7c93ff;--c2:#ff6b70;--c3:#4cc38a;--c4:#ffc53d;--c5:#b084f5;--shadow:none}}
*{box-sizing:border-box}body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Ubuntu,sans-serif}
header{padding:20px 28px 4px;display:flex;flex-wrap:wrap;align-items:baseline;gap:12px}
h1{font-size:20px;margin:0;font-weight:650;letter-spacing:-.01em}h2{font-size:14px;margin:0 0 10px;font-weight:600}
.sub{color:var(--muted)}.pill{display:inline-block;padding:1px 8px;border-radius:999px;font-size:12px;border:1px solid var(--line);color:var(--muted)}
.pill.on{color:var(--c3);border-color:var(--c3)}.pill.observe{color:var(--c4);border-color:var(--c4)}.pill.off{color:var(--c2);border-color:var(--c2)}
main{padding:12px 28px 32px;display:grid;gap:16px;grid-template-columns:repeat(12,1fr)}
.card{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:16px;box-shadow:var(--shadow);min-width:0}
.kpis{grid-column:1/-1;display:grid;grid-template-columns:repeat(auto-fit,minmax(160px,1fr));gap:16px}
.kpi .v{font-size:26px;font-weight:650;letter-spacing:-.02em}.kpi .l{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.kpi .d{font-size:12px;color:var(--muted)}.good{color:var(--c3)!important}.bad{color:var(--c2)!important}
.w6{grid-column:span 6}.w4{grid-column:span 4}.w8{grid-column:span 8}.w12{grid-column:1/-1}
@media (max-width:900px){.w6,.w4,.w8{grid-column:1/-1}}
figure{margin:0}svg{width:100%;height:auto;display:block}.grid{stroke:var(--line);stroke-width:1}.axis{fill:var(--muted);font-size:10px}
figcaption{display:flex;gap:14px;flex-wrap:wrap;margin-top:6px;color:var(--muted);font-size:12px}.key i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:5px;vertical-align:-1px}
.bars ul{list-style:none;margin:0;padding:0;display:grid;gap:7px}.bars li{display:grid;grid-template-columns:minmax(90px,38%) 1fr auto;gap:10px;align-items:center}
.bars .label{overflow:hidden;text-overflow:ellipsis;white-space:nowrap;font-size:12.5px}.bars .track{background:var(--line);border-radius:3px;height:10px;overflow:hidden}.bars .track svg{height:10px}
.bars .value{font-variant-numeric:tabular-nums;font-size:12.5px}.bars small{color:var(--muted)}
.empty{color:var(--muted);font-size:12.5px;margin:8px 0 0}
table{width:100%;border-collapse:collapse;font-size:12.5px}th{text-align:left;color:var(--muted);font-weight:500;padding:6px 8px;border-bottom:1px solid var(--line)}
td{padding:8px;border-bottom:1px solid var(--line);vertical-align:top}tr:last-child td{border-bottom:0}code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace}
.sev{font-size:11px;padding:1px 7px;border-radius:999px;font-weight:600}.sev.high{background:color-mix(in srgb,var(--c2) 18%,transparent);color:var(--c2)}
.sev.medium{background:color-mix(in srgb,var(--c4) 20%,transparent);color:var(--c4)}.sev.low{background:color-mix(in srgb,var(--c1) 16%,transparent);color:var(--c1)}
.g{display:flex;gap:8px;align-items:center;margin:2px 0;flex-wrap:wrap}.g .st{font-size:11px;color:var(--muted)}.g .st.retired,.g .st.disabled{color:var(--c2)}
.eff{display:inline-flex;height:6px;width:80px;border-radius:3px;overflow:hidden;background:var(--line)}.eff b{background:var(--c3)}.eff s{background:var(--c2)}
.ex{color:var(--muted);max-width:420px;overflow:hidden;text-overflow:ellipsis;display:-webkit-box;-webkit-line-clamp:2;-webkit-box-orient:vertical}
footer{padding:0 28px 24px;color:var(--muted);font-size:12px}
`;

const pct = (r: number | null) => (r === null ? '–' : `${(r * 100).toFixed(1)}%`);
const usd = (v: number) => `$${v.toFixed(v >= 100 ? 0 : v >= 1 ? 2 : 4)}`;

function kpi(label: string, value: string, detail = '', cls = ''): string {
  return `<div class="card kpi"><div class="l">${esc(label)}</div><div class="v ${cls}">${esc(value)}</div><div class="d">${esc(detail)}</div></div>`;
}

function effectiveness(g: GuardrailView): string {
  const graded = g.passed + g.failed;
  const bar = graded === 0 ? '' : `<span class="eff" title="${g.passed} passed, ${g.failed} failed after it"><b style="width:${((g.passed / graded) * 100).toFixed(0)}%"></b><s style="width:${((g.failed / graded) * 100).toFixed(0)}%"></s></span>`;
  return `<div class="g"><code>${esc(g.id.replace(/^immune\./, ''))}</code><span class="st ${esc(g.status)}">${esc(g.status)}${g.status_reason ? `: ${esc(g.status_reason)}` : ''}</span>${bar}<span class="st">applied ${g.applied} · ${g.passed}✓ ${g.failed}✗ · votes ${g.votes}</span></div>`;
}

function patternRow(p: PatternView): string {
  const models = p.models.map((m) => `${m.model}: ${m.failures}✗ ${m.passes}✓`).join('<br>') || '–';
  const guardrails = p.guardrails.length > 0 ? p.guardrails.map(effectiveness).join('') : '<span class="sub">none yet</span>';
  return `<tr><td><code>${esc(p.id)}</code><br><span class="sev ${esc(p.severity)}">${esc(p.severity)}</span> ${p.status === 'disabled' ? '<span class="pill off">disabled</span>' : ''}</td>
<td><b>${esc(p.failure_class)}</b><div class="ex" title="${esc(p.example)}">${esc(p.example)}</div></td><td>${p.count}</td><td>${esc(p.last_seen.slice(0, 16).replace('T', ' '))}</td><td>${models}</td><td>${guardrails}</td></tr>`;
}

export function renderDashboard(r: DashboardReport, opts: { mode?: string } = {}): string {
  const s = r.status;
  const labels = r.days.map((d) => d.day);
  const failedInPeriod = r.days.reduce((a, d) => a + d.failed, 0);
  const costInPeriod = r.days.reduce((a, d) => a + d.cost_usd, 0);
  const cur = s.failure_rate.current;
  const prev = s.failure_rate.previous;
  const trend = cur !== null && prev !== null ? (cur < prev ? 'good' : cur > prev ? 'bad' : '') : '';
  const mode = opts.mode ?? 'on';

  const trends = columnChart('failure-trend', labels, [
    { name: 'passed', color: 'var(--c3)', values: r.days.map((d) => d.trials - d.failed) },
    { name: 'failed or errored', color: 'var(--c2)', values: r.days.map((d) => d.failed) },
  ]);
  const guarded = columnChart('guarded-calls', labels, [
    { name: 'rewritten', color: 'var(--c1)', values: r.days.map((d) => d.rewritten) },
    { name: 'blocked', color: 'var(--c5)', values: r.days.map((d) => d.blocked) },
  ], { height: 160 });
  const cost = columnChart('cost-per-day', labels, [{ name: 'cost (ledger)', color: 'var(--c4)', values: r.days.map((d) => d.cost_usd) }], { unit: '$', height: 160 });
  const byClass = barList('failures-by-class', r.by_class.map((c) => ({ label: c.key, value: c.failures })), { color: 'var(--c2)' });
  const byModel = barList('failures-by-model', r.by_model.map((m) => ({ label: m.key, value: m.failures, note: m.trials > 0 ? `of ${m.trials}` : '' })), { color: 'var(--c1)' });
  const byGrader = barList('failures-by-grader', r.by_grader.map((g) => ({ label: g.key, value: g.failures })), { color: 'var(--c5)' });
  const incidents = barList('provider-incidents', r.incidents_by_kind.map((i) => ({ label: i.key.replace(/_/g, ' '), value: i.count })), { color: 'var(--c4)' });
  const incidentRows = r.incidents
    .slice(0, 8)
    .map((i) => `<tr><td>${esc(i.at.slice(5, 16).replace('T', ' '))}</td><td>${esc(i.kind.replace(/_/g, ' '))}</td><td><code>${esc(i.model)}</code></td><td class="sub">${esc(i.detail)}</td></tr>`)
    .join('');
  const alerts =
    r.alerts === null
      ? ''
      : `<section class="card w12"><h2>Recent alerts</h2>${
          r.alerts.length === 0
            ? '<p class="empty">No alerts in this period.</p>'
            : `<table><tr><th>When</th><th>Kind</th><th>Message</th></tr>${r.alerts.map((a) => `<tr><td>${esc(a.at.slice(0, 16).replace('T', ' '))}</td><td>${esc(a.kind)}</td><td>${esc(a.message)}</td></tr>`).join('')}</table>`
        }</section>`;

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'">
<meta name="color-scheme" content="light dark"><title>Task Orchestrator · failures &amp; guardrails</title><style>${CSS}</style></head>
<body><header><h1>Failures &amp; guardrails</h1><span class="pill ${esc(mode)}">immune system ${esc(mode)}</span><span class="sub">last ${r.period_days} days · generated ${esc(r.generated_at.slice(0, 16).replace('T', ' '))} UTC</span></header>
<main>
<section class="kpis">
${kpi('Failure rate', pct(cur), `previous ${s.period_days} d: ${pct(prev)}`, trend)}
${kpi('Failed calls', String(failedInPeriod), `${r.days.reduce((a, d) => a + d.trials, 0)} calls in ${r.period_days} d`)}
${kpi('Patterns known', String(s.patterns_known), `${s.patterns_active} active · ${s.failures_recorded} failures remembered`)}
${kpi('Recurrences prevented', String(s.recurrences_prevented), `${s.checks.rewritten} rewritten · ${s.checks.blocked} blocked`, s.recurrences_prevented > 0 ? 'good' : '')}
${kpi('Cost', usd(costInPeriod), `${r.period_days} d, from the ledger`)}
</section>
<section class="card w8"><h2>Calls per day</h2>${trends}</section>
<section class="card w4"><h2>Failures by class</h2>${byClass}</section>
<section class="card w6"><h2>Guarded calls per day</h2>${guarded}</section>
<section class="card w6"><h2>Cost per day</h2>${cost}</section>
<section class="card w4"><h2>Failures by model</h2>${byModel}</section>
<section class="card w4"><h2>Failures by grader</h2>${byGrader}</section>
<section class="card w4"><h2>Breakers &amp; rate limits</h2>${incidents}${incidentRows ? `<table style="margin-top:10px"><tr><th>When</th><th>What</th><th>Model</th><th></th></tr>${incidentRows}</table>` : ''}</section>
<section class="card w12"><h2>Top failure patterns and their guardrails</h2>${
    s.top_patterns.length === 0
      ? '<p class="empty">No failures remembered yet.</p>'
      : `<table><tr><th>Pattern</th><th>Class · example</th><th>Failures</th><th>Last seen</th><th>Per model</th><th>Guardrails · effectiveness</th></tr>${s.top_patterns.map(patternRow).join('')}</table>`
  }</section>
${alerts}
</main><footer>Task Orchestrator · reads the same database as the server · no network access</footer></body></html>
`;
}
