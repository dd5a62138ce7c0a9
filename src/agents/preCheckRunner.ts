import { AppError, errorMessage } from '../errors.js';
import type { AppliedGuardrail } from '../events.js';
import type { Logger } from '../logger.js';
import type { MatchedPattern, PreCheck, PreCheckInput } from './preCheck.js';

/** What the pre-checks, run in order, made of one call. */
export interface PreCheckOutcome {
  action: 'proceed' | 'rewritten' | 'blocked';
  /** The prompt and system text to send (the caller's when nothing rewrote them). */
  prompt: string;
  system: string | undefined;
  /** The highest risk any pre-check gave; null when none did. */
  riskScore: number | null;
  /** Per model, the highest risk any pre-check gave; undefined when none gave one. */
  failureRisk: ((model: string) => number | undefined) | undefined;
  matchedPatterns: MatchedPattern[];
  /** Every guardrail applied, a rewrite's changes and a refusal included, in order. */
  guardrails: AppliedGuardrail[];
  /** Set when action is 'blocked': which pre-check refused, and why. */
  blocked?: { by: string; reason: string } | undefined;
}

/** The outcome when no pre-check is registered. */
export function untouched(prompt: string, system: string | undefined): PreCheckOutcome {
  return { action: 'proceed', prompt, system, riskScore: null, failureRisk: undefined, matchedPatterns: [], guardrails: [] };
}

/**
 * Runs each pre-check on the prompt as the previous one left it; stops at the first refusal.
 * A pre-check that refuses by throwing an AppError keeps that error; one that crashes otherwise
 * is logged and skipped: a broken watcher must not stop every call (it cannot refuse by accident).
 */
export async function runPreChecks(
  checks: readonly PreCheck[],
  input: PreCheckInput,
  signal: AbortSignal,
  logger: Logger,
): Promise<PreCheckOutcome> {
  const out = untouched(input.prompt, input.system);
  const risks: Array<(model: string) => number | undefined> = [];
  for (const check of checks) {
    let verdict;
    try {
      verdict = await check.check({ ...input, prompt: out.prompt, system: out.system }, { signal });
    } catch (err) {
      if (err instanceof AppError) throw err;
      logger.error(`pre-check ${check.id} failed; the call goes on without it: ${errorMessage(err)}`);
      continue;
    }
    if (verdict.riskScore !== undefined) out.riskScore = Math.max(out.riskScore ?? 0, verdict.riskScore);
    if (verdict.failureRisk) risks.push(verdict.failureRisk);
    if (verdict.matchedPatterns) out.matchedPatterns.push(...verdict.matchedPatterns);
    if (verdict.guardrails) out.guardrails.push(...verdict.guardrails);
    if (verdict.action === 'refuse') {
      out.action = 'blocked';
      out.guardrails.push(verdict.guardrail);
      out.blocked = { by: check.id, reason: verdict.reason };
      break;
    }
    if (verdict.action === 'rewrite') {
      if (verdict.prompt !== undefined) out.prompt = verdict.prompt;
      if (verdict.system !== undefined) out.system = verdict.system;
      out.guardrails.push(...verdict.changes);
      out.action = 'rewritten';
    }
  }
  if (risks.length > 0) {
    out.failureRisk = (model) => {
      let max: number | undefined;
      for (const risk of risks) {
        const r = risk(model);
        if (r !== undefined && (max === undefined || r > max)) max = r;
      }
      return max;
    };
  }
  return out;
}

/** The result's `immune` field: what the pre-checks did, always present. */
export function immuneReport(outcome: PreCheckOutcome): {
  action: 'proceed' | 'rewritten' | 'blocked';
  risk_score: number | null;
  matched_patterns: MatchedPattern[];
  guardrails: AppliedGuardrail[];
} {
  return {
    action: outcome.action,
    risk_score: outcome.riskScore,
    matched_patterns: outcome.matchedPatterns,
    guardrails: outcome.guardrails.map((g) => ({ id: g.id, kind: g.kind, reason: g.reason })),
  };
}
