import type { AppliedGuardrail } from '../events.js';
import type { MatchedPattern, PreCheckInput, PreCheckVerdict, PromptChange } from '../agents/preCheck.js';
import type { ImmuneConfig } from './config.js';
import { checkInjection } from './guardrails/injectionGuard.js';
import { hintForError, hintForFinishReason, instructionForGrader, type GraderSpecLike } from './guardrails/instructions.js';
import { failureRiskFor, routedTier } from './guardrails/routing.js';
import { checkSecrets } from './guardrails/secrets.js';
import { checkPromptSize } from './guardrails/sizeCap.js';
import { promptTerms, type PatternMemory, type PatternState } from './patternMemory.js';

/** The immune system's answer to one call, before it is turned into the pipeline's verdict. */
export interface Assessment {
  action: 'proceed' | 'rewritten' | 'blocked';
  processedPrompt: string;
  processedSystem: string | undefined;
  riskScore: number;
  matchedPatterns: MatchedPattern[];
  /** Everything that fired, changes included (in observe mode all of kind "log"). */
  guardrails: AppliedGuardrail[];
  changes: PromptChange[];
  reason: string;
  failureRisk: ((model: string) => number | undefined) | undefined;
  /** The guardrail that refused the call. */
  blockedBy: AppliedGuardrail | undefined;
}

const TOP_K = 5;
const LEARNED_HEADER = 'Learned from earlier failures of similar requests:';

function parseSpec(json: string | null): GraderSpecLike | undefined {
  if (!json) return undefined;
  try {
    return JSON.parse(json) as GraderSpecLike;
  } catch {
    return undefined;
  }
}

/** The instruction a learned guardrail gives this call, or undefined when it does not apply here. */
function instructionFor(p: PatternState, storedSpec: GraderSpecLike | undefined, input: PreCheckInput, fallback: string | null): string | undefined {
  if (p.failureClass === 'finish:length') return hintForFinishReason('length', input.maxOutputTokens);
  if (p.failureClass === 'finish:safety') return hintForFinishReason('safety');
  if (p.failureClass.startsWith('error:')) return hintForError(p.errorCode);
  if (!p.grader) return undefined;
  // The bound that applies is this call's; a grader it does not have is not a reason to change it.
  const current = input.graders.find((g) => g.type === p.grader);
  if (!current) return undefined;
  return instructionForGrader(current, undefined) ?? (storedSpec ? instructionForGrader(storedSpec) : (fallback ?? undefined));
}

export function assess(input: PreCheckInput, memory: PatternMemory, config: ImmuneConfig, secrets: readonly string[]): Assessment {
  let prompt = input.prompt;
  let system = input.system;
  const guardrails: AppliedGuardrail[] = [];
  const changes: PromptChange[] = [];
  const reasons: string[] = [];
  let riskScore = 0;
  let blockedBy: AppliedGuardrail | undefined;
  const block = (g: AppliedGuardrail) => {
    blockedBy ??= g;
    guardrails.push(g);
    reasons.push(g.reason);
  };
  const change = (c: PromptChange) => {
    changes.push(c);
    guardrails.push({ id: c.id, kind: c.kind, reason: c.reason });
    reasons.push(c.reason);
  };

  const tooBig = checkPromptSize(prompt, system, config.maxPromptChars);
  if (tooBig) block({ id: 'immune.size_cap', kind: 'block', reason: tooBig });

  const secret = checkSecrets(prompt, system, config.secrets, secrets);
  if (secret.action === 'block') block({ id: 'immune.secrets', kind: 'block', reason: `the prompt carries what looks like a secret (${secret.kinds.join(', ')}); remove it or set TASK_ORCHESTRATOR_IMMUNE_SECRETS=redact` });
  else if (secret.action === 'redact') {
    prompt = secret.prompt;
    system = secret.system;
    change({ id: 'immune.secrets', kind: 'rewrite', target: 'prompt', reason: `redacted what looks like a secret (${secret.kinds.join(', ')}) before it reaches the model` });
  }

  const injection = checkInjection(input, config);
  riskScore = Math.max(riskScore, injection.score);
  if (injection.action === 'block') block(injection.guardrail);
  else if (injection.action === 'guard') {
    system = system ? `${injection.systemNote}\n\n${system}` : injection.systemNote;
    change({ ...injection.guardrail, kind: 'rewrite', target: 'system' });
  } else if (injection.action === 'log') guardrails.push(injection.guardrail);

  const matchedPatterns: MatchedPattern[] = [];
  let failureRisk: Assessment['failureRisk'];
  if (input.operation === 'agent' && memory.index.size > 0) {
    const matches = memory.match(promptTerms(input.prompt), TOP_K, config.threshold, input.operation);
    const instructions: Array<{ id: string; text: string; reask: boolean; reason: string }> = [];
    const outcomes: Array<{ similarity: number; models: ReturnType<PatternMemory['modelOutcomes']> }> = [];
    // "A few failures" counts across the matched patterns of one class: differently worded
    // failures of the same kind may sit in neighbouring clusters.
    const classCounts = new Map<string, number>();
    /** Classes whose learned instruction was applied and the call failed anyway: time for the next rung. */
    const instructionFailed = new Set<string>();
    for (const m of matches) {
      const p = memory.patterns.get(m.id)!;
      classCounts.set(p.failureClass, (classCounts.get(p.failureClass) ?? 0) + p.count);
      if (p.guardedFailures > 0 || p.guardrailIds.some((id) => (memory.guardrails.get(id)?.failed ?? 0) > 0)) instructionFailed.add(p.failureClass);
    }
    for (const m of matches) {
      const p = memory.patterns.get(m.id)!;
      const similarity = Number(m.similarity.toFixed(3));
      matchedPatterns.push({ id: m.id, similarity });
      riskScore = Math.max(riskScore, similarity * (p.count / (p.count + 1)));
      guardrails.push({ id: `immune.match.${m.id}`, kind: 'log', reason: `similar (${similarity}) to ${p.id}: ${p.count} failure(s) of ${p.failureClass}` });
      if ((classCounts.get(p.failureClass) ?? 0) < config.minFailures) continue;
      const before = instructions.length;
      for (const gid of p.guardrailIds) {
        const g = memory.guardrails.get(gid);
        if (!g || g.source !== 'learned') continue;
        if (g.status !== 'active') {
          if (g.status === 'retired') guardrails.push({ id: gid, kind: 'log', reason: g.status_reason ?? 'retired' });
          continue;
        }
        const text = instructionFor(p, parseSpec(p.failedSpec), input, g.instruction);
        if (!text) continue;
        instructions.push({ id: gid, text, reask: instructionFailed.has(p.failureClass), reason: `${p.failureClass} failed ${p.count} time(s) on similar prompts (${p.id})` });
      }
      // The ladder: an instruction first, on the same model; a stronger model once it did not help.
      const fresh = instructions.slice(before);
      if (fresh.length === 0 || fresh.some((i) => i.reask)) outcomes.push({ similarity: m.similarity, models: memory.modelOutcomes(m.id) });
    }
    const seen = new Set<string>();
    const unique = instructions.filter((i) => !seen.has(i.text) && seen.add(i.text));
    const inPrompt = unique.filter((i) => !i.reask);
    const inSystem = unique.filter((i) => i.reask);
    if (inPrompt.length > 0) {
      prompt = `${prompt}\n\n${LEARNED_HEADER}\n${inPrompt.map((i) => `- ${i.text}`).join('\n')}`;
      for (const i of inPrompt) change({ id: i.id, kind: 'rewrite', target: 'prompt', reason: `${i.reason}: "${i.text.slice(0, 120)}"` });
    }
    if (inSystem.length > 0) {
      // Said once in the prompt and it still failed: the next rung asks again, louder, in the system text.
      const note = `Important, from earlier failures that recurred: ${inSystem.map((i) => i.text).join(' ')}`;
      system = system ? `${system}\n\n${note}` : note;
      for (const i of inSystem) change({ id: i.id, kind: 'reask', target: 'system', reason: `${i.reason}, and again after this instruction: stated in the system text` });
    }
    if (outcomes.length > 0) {
      const risk = failureRiskFor(outcomes);
      const route = input.model === 'auto' ? routedTier(input.tiers, risk) : undefined;
      if (route) {
        failureRisk = risk;
        guardrails.push({
          id: `immune.route.${matches[0]!.id}`,
          kind: 'route',
          reason: `similar prompts failed on ${route.from} (risk ${(risk(route.from)! * 100).toFixed(0)}%); start at ${route.to}`,
        });
        reasons.push(`routed from ${route.from} to ${route.to}`);
      }
      if (input.model !== 'auto') riskScore = Math.max(riskScore, risk(input.model) ?? 0);
    }
  }

  const action: Assessment['action'] = blockedBy ? 'blocked' : changes.length > 0 ? 'rewritten' : 'proceed';
  return {
    action,
    processedPrompt: blockedBy ? input.prompt : prompt,
    processedSystem: blockedBy ? input.system : system,
    riskScore: Number(riskScore.toFixed(3)),
    matchedPatterns,
    guardrails,
    changes,
    reason: reasons.length > 0 ? reasons.join('; ') : matchedPatterns.length > 0 ? 'similar to remembered failures; nothing to change yet' : 'no known failure pattern matched',
    failureRisk,
    blockedBy,
  };
}

/** The pipeline's verdict for an assessment; in observe mode it never changes or blocks. */
export function toVerdict(a: Assessment, mode: ImmuneConfig['mode']): PreCheckVerdict {
  // No match and no signal: nothing to say about risk (absent, not zero).
  const common = { riskScore: a.riskScore === 0 && a.guardrails.length === 0 ? undefined : a.riskScore, matchedPatterns: a.matchedPatterns };
  if (mode === 'observe') {
    return {
      action: 'proceed',
      ...common,
      guardrails: a.guardrails.map((g) => (g.kind === 'log' ? g : { id: g.id, kind: 'log', reason: `observe: would ${g.kind}: ${g.reason}` })),
    };
  }
  const logged = a.guardrails.filter((g) => g.kind === 'log' || g.kind === 'route');
  if (a.action === 'blocked') return { action: 'refuse', ...common, reason: a.blockedBy!.reason, guardrail: a.blockedBy!, guardrails: logged, failureRisk: a.failureRisk };
  if (a.action === 'rewritten') {
    const promptChanged = a.changes.some((c) => c.target === 'prompt');
    const systemChanged = a.changes.some((c) => c.target === 'system');
    return {
      action: 'rewrite',
      ...common,
      ...(promptChanged && { prompt: a.processedPrompt }),
      ...(systemChanged && { system: a.processedSystem }),
      changes: a.changes,
      guardrails: logged,
      failureRisk: a.failureRisk,
    };
  }
  return { action: 'proceed', ...common, guardrails: logged, failureRisk: a.failureRisk };
}
