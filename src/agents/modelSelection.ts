/**
 * Automatic model selection for `model: "auto"`. A pure function over signals we can defend:
 * what the prompt asks for, how long it is, whether structured output was requested, what the
 * budget still allows, which breakers are open, and (later) the predicted failure risk.
 */

export type TaskKind = 'code' | 'reasoning' | 'extraction' | 'summary' | 'general';

export interface SelectionSignals {
  prompt: string;
  system?: string | undefined;
  promptTokens: number;
  hasSchema: boolean;
  /** Cheapest first, e.g. flash-lite, flash, pro. */
  tiers: readonly string[];
  /** False while a model's breaker is open or its daily quota is gone. */
  isAvailable(model: string): boolean;
  /** The most this call may cost on a model, in USD. */
  maxCostUsd(model: string): number;
  /** USD left for a call to this model under the tightest budget that applies to it (provider-wide or its own); undefined when none does. */
  remainingBudgetUsd(model: string): number | undefined;
  /** Predicted probability (0..1) that the call fails on a model; undefined without a predictor. */
  failureRisk?: ((model: string) => number | undefined) | undefined;
  /** Start no lower than this tier (escalation). */
  minTier?: number | undefined;
}

export interface ModelChoice {
  model: string;
  tier: number;
  kind: TaskKind;
  reason: string;
}

const KIND_PATTERNS: Array<[TaskKind, RegExp]> = [
  ['code', /```|\b(function|class|refactor|implement|debug|bug|stack trace|compile|typescript|javascript|python|rust|golang|java|sql|regex|unit tests?|code)\b/i],
  ['reasoning', /\b(prove|proof|derive|why|reason(ing)?|step[- ]by[- ]step|plan|trade-?offs?|analy[sz]e|compare|evaluate|design|architecture|math|calculate|solve)\b/i],
  ['extraction', /\b(extract|parse|list (all|every)|pull out|fill (in|out)|classify|categori[sz]e|label|tag|json|fields?)\b/i],
  ['summary', /\b(summari[sz]e|summary|tl;?dr|condense|shorten|rewrite|translate|paraphrase)\b/i],
];

/** Hard signals for the top tier: rigorous multi-step work, or a very long code/reasoning prompt. */
const HARD_PATTERN = /\b(prove|rigorous|formal(ly)?|architecture|security review|concurren(t|cy)|distributed|optimi[sz]e|complex|multi-step|edge cases)\b/i;

export function classifyTask(prompt: string, system = ''): TaskKind {
  const text = `${system}\n${prompt}`;
  for (const [kind, pattern] of KIND_PATTERNS) if (pattern.test(text)) return kind;
  return 'general';
}

const LONG_PROMPT_TOKENS = 32_000;

export function selectModel(s: SelectionSignals): ModelChoice {
  const top = s.tiers.length - 1;
  const kind = classifyTask(s.prompt, s.system);
  const reasons: string[] = [];

  let tier: number;
  if (kind === 'summary' || kind === 'extraction') tier = 0;
  else if (kind === 'general') tier = s.promptTokens > LONG_PROMPT_TOKENS ? 1 : 0;
  else tier = HARD_PATTERN.test(s.prompt) || s.promptTokens > LONG_PROMPT_TOKENS ? 2 : 1;
  tier = Math.min(tier, top);
  reasons.push(`${kind} task, ~${s.promptTokens} prompt tokens${s.hasSchema ? ', structured output' : ''} → ${s.tiers[tier]}`);

  if (s.minTier !== undefined && tier < s.minTier) {
    tier = Math.min(s.minTier, top);
    reasons.push(`escalated to ${s.tiers[tier]}`);
  }

  const risk = s.failureRisk?.(s.tiers[tier]!);
  if (risk !== undefined && risk > 0.5 && tier < top) {
    tier += 1;
    reasons.push(`predicted failure risk ${(risk * 100).toFixed(0)}% → ${s.tiers[tier]}`);
  }

  if (!fits(s, tier)) {
    let cheaper = tier;
    while (cheaper > 0 && !fits(s, cheaper)) cheaper -= 1;
    if (cheaper !== tier) {
      reasons.push(`budget left for ${s.tiers[tier]} $${s.remainingBudgetUsd(s.tiers[tier]!)!.toFixed(4)} → ${s.tiers[cheaper]}`);
      tier = cheaper;
    }
  }

  if (!s.isAvailable(s.tiers[tier]!)) {
    const fallback = nearestAvailable(s, tier);
    if (fallback !== undefined) {
      reasons.push(`${s.tiers[tier]} unavailable (breaker open) → ${s.tiers[fallback]}`);
      tier = fallback;
    } else {
      reasons.push(`every tier unavailable; trying ${s.tiers[tier]}`);
    }
  }

  return { model: s.tiers[tier]!, tier, kind, reason: reasons.join('; ') };
}

/** Whether the budgets that apply to this tier's model can pay for the call at its most. */
function fits(s: SelectionSignals, tier: number): boolean {
  const model = s.tiers[tier]!;
  const left = s.remainingBudgetUsd(model);
  return left === undefined || s.maxCostUsd(model) <= left;
}

/** Prefer the next tier up (better answer) when the budget allows it, else the nearest one down. */
function nearestAvailable(s: SelectionSignals, from: number): number | undefined {
  for (let up = from + 1; up < s.tiers.length; up++) if (s.isAvailable(s.tiers[up]!) && fits(s, up)) return up;
  for (let down = from - 1; down >= 0; down--) if (s.isAvailable(s.tiers[down]!)) return down;
  return undefined;
}
