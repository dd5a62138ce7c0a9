import type { BatchResult, ParallelOutcome } from '../../agents/parallel.js';
import { finishNote } from '../../agents/finishReason.js';
import type { AgentResult } from '../../agents/spawnSchema.js';
import { formatUsd as usd } from '../../cost/money.js';
import type { RunSnapshot } from '../../runs/backgroundRuns.js';

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

/** The headline, why it failed (a blocked prompt, a spent output budget), then the answer itself. */
export function agentText(r: AgentResult): string {
  const why = r.error ? `\n${r.error.message}` : '';
  return `${agentHeadline(r)}${why}\n\n${r.text ?? ''}`;
}

export type BatchOutcome = ParallelOutcome & { batch_id: string };

/** Answers up to this many characters in all are given in full in the text (hosts may pass the model only the text). */
const FULL_ANSWERS_CHARS = 8_000;

/**
 * One line per agent in input order, each with its error or its answer: in full when all the
 * answers together are short, else their first 160 characters (and a note where the rest is).
 */
export function agentLines(results: ReadonlyArray<BatchResult & { index: number }>): string[] {
  const full = results.reduce((n, r) => n + (r.text?.length ?? 0), 0) <= FULL_ANSWERS_CHARS;
  const lines = results.map((r) => {
    const head = `#${r.index} ${agentHeadline(r)}`;
    if (r.error) return `${head} — ${r.error.message}`;
    if (!r.text) return head;
    return full ? `${head}\n${r.text}` : `${head} — ${r.text.slice(0, 160).replace(/\s+/g, ' ')}`;
  });
  if (!full) lines.push('(answers shortened; each in full in structuredContent: results[i].text)');
  return lines;
}

export function batchSummary(outcome: BatchOutcome): string {
  const t = outcome.totals;
  const head = `${t.agents} agents: ${t.passed} passed, ${t.failed} failed, ${t.errored} errored, ${t.cancelled} cancelled · ${usd(t.cost_usd)} · ${(t.wall_ms / 1000).toFixed(1)} s${outcome.winner_index !== null ? ` · winner #${outcome.winner_index}` : ''} · batch ${outcome.batch_id}`;
  return [head, ...agentLines(outcome.results)].join('\n');
}

/** What the model should do with a run that is still going. */
export function pollHint(runId: string): string {
  return `Call agent_result with run_id "${runId}" (wait_ms up to 50000) for the result; agent_cancel stops it.`;
}

function isAgentResult(value: unknown): value is AgentResult {
  return typeof value === 'object' && value !== null && 'trial_id' in value && 'status' in value && 'cost_usd' in value;
}

function isBatchOutcome(value: unknown): value is BatchOutcome {
  return typeof value === 'object' && value !== null && 'totals' in value && Array.isArray((value as BatchOutcome).results);
}

function isBatchEntries(value: unknown): value is Array<BatchResult & { index: number }> {
  return Array.isArray(value) && value.every((v) => typeof v === 'object' && v !== null && 'index' in v && 'status' in v);
}

/** The text of agent_result and agent_cancel: the status, and the answer (or what finished so far). */
export function runText(run: RunSnapshot): string {
  const head =
    run.status === 'running'
      ? `${run.run_id} is still running.`
      : run.status === 'done'
        ? `${run.run_id} is done.`
        : `${run.run_id} ${run.status}: ${run.error ?? ''}`;
  const body: string[] = [];
  if (isAgentResult(run.result)) body.push(agentText(run.result));
  else if (isBatchOutcome(run.result)) body.push(batchSummary(run.result));
  else if (isBatchEntries(run.partial) && run.partial.length > 0) {
    body.push(`${run.partial.length} agents finished so far:`, ...agentLines(run.partial));
  }
  if (run.status === 'running') body.push(pollHint(run.run_id));
  return [head, ...body].join('\n');
}
