import { describe, expect, it } from 'vitest';
import { dashboardReport, statusReport } from '../../../src/immune/report.js';
import { renderDashboard } from '../../../src/dashboard/render.js';
import { finished, makeImmune } from './helpers.js';

describe('immune read models', () => {
  it('reports trends, breakdowns and status from what was recorded', () => {
    const { immune, db, clock, events } = makeImmune();
    const now = clock.now();
    immune.onTrialFinished(finished({ prompt: 'Extract totals from invoice 1', at: now - 86_400_000 }));
    immune.onTrialFinished(finished({ prompt: 'Extract totals from invoice 2', at: now }));
    immune.onTrialFinished(finished({ prompt: 'Write a poem', status: 'passed', graderResults: [], at: now }));
    events.emit('breaker.opened', { provider: 'google_gemini', model: 'gemini-2.5-flash', at: now, reason: '3 failures' });
    const status = statusReport(db, now, 7);
    expect(status).toMatchObject({ patterns_known: 1, failures_recorded: 2, failure_rate: { current: 0.6667, current_trials: 3, previous: null } });
    const dash = dashboardReport(db, now, 7);
    expect(dash.days).toHaveLength(7);
    expect(dash.days.at(-1)).toMatchObject({ trials: 2, failed: 1, failures: 1, incidents: 1 });
    expect(dash.by_grader).toEqual([{ key: 'json_valid', failures: 2 }]);
    expect(dash.by_model).toEqual([{ key: 'gemini-2.5-flash-lite', failures: 2, trials: 3 }]);
    expect(dash.incidents_by_kind).toEqual([{ key: 'breaker_opened', count: 1 }]);
    expect(dash.alerts).toBeNull();
    const html = renderDashboard(dash);
    expect(html).toContain('data-chart="failure-trend"');
    expect(html).not.toMatch(/https?:\/\/(?!www\.w3\.org)/);
  });

  it('reads an alerts table of unknown shape defensively', () => {
    const { db, clock } = makeImmune();
    db.exec("CREATE TABLE alerts (id INTEGER PRIMARY KEY, created_at_ms INTEGER, rule TEXT, message TEXT)");
    db.prepare('INSERT INTO alerts (created_at_ms, rule, message) VALUES (?, ?, ?)').run(clock.now(), 'budget_80', 'Budget at 80%');
    expect(dashboardReport(db, clock.now(), 7).alerts).toEqual([{ at: new Date(clock.now()).toISOString(), kind: 'budget_80', message: 'Budget at 80%' }]);
  });
});
