import type { AgentResult } from '../../agents/spawnSchema.js';
import { formatUsd as usd } from '../../cost/money.js';

export { usd };

/** One line about an agent's run, for the human-readable text of a result. */
export function agentHeadline(r: AgentResult): string {
  const graders = r.graders.map((g) => `${g.type} ${g.status === 'could_not_grade' ? '?' : g.pass ? '✓' : '✗'}`).join(', ');
  return [
    r.status,
    r.model ?? 'no model',
    usd(r.cost_usd),
    `${(r.latency_ms / 1000).toFixed(1)} s`,
    graders ? `graders: ${graders}` : '',
    r.escalated ? 'escalated' : '',
    `trial ${r.trial_id}`,
  ]
    .filter(Boolean)
    .join(' · ');
}
