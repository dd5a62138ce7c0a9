import type { BatchResult } from '../../agents/parallel.js';
import { formatUsd as usd } from '../../cost/money.js';

export { usd };

/** One line about an agent's run, for the human-readable text of a result. */
export function agentHeadline(r: BatchResult): string {
  const graders = r.graders.map((g) => `${g.type} ${g.status === 'could_not_grade' ? '?' : g.pass ? '✓' : '✗'}`).join(', ');
  return [
    r.status,
    r.model ?? 'no model',
    usd(r.cost_usd),
    `${(r.latency_ms / 1000).toFixed(1)} s`,
    graders ? `graders: ${graders}` : '',
    r.escalated ? 'escalated' : '',
    r.trial_id ? `trial ${r.trial_id}` : 'no trial',
  ]
    .filter(Boolean)
    .join(' · ');
}
