import type { BatchResult } from '../../agents/parallel.js';
import { finishNote } from '../../agents/finishReason.js';
import { formatUsd as usd } from '../../cost/money.js';

export { usd };

/** One line about an agent's run, for the human-readable text of a result. */
export function agentHeadline(r: BatchResult): string {
  const graders = r.graders.map((g) => `${g.type} ${g.status === 'could_not_grade' ? '?' : g.pass ? '✓' : '✗'}`).join(', ');
  return [
    r.status,
    r.model ?? 'no model',
    // A cut-off answer can still pass its graders: the caller must not mistake it for a whole one.
    finishNote(r.finish_reason) ?? '',
    usd(r.cost_usd),
    `${(r.latency_ms / 1000).toFixed(1)} s`,
    graders ? `graders: ${graders}` : '',
    r.escalated ? 'escalated' : '',
    r.trial_id ? `trial ${r.trial_id}` : 'no trial',
  ]
    .filter(Boolean)
    .join(' · ');
}
