import { z } from 'zod';

/** The immune system's slice of the configuration; its variables join config.ts's schema. */
export interface ImmuneConfig {
  /** on: guard and learn; observe: check and record, never change or block; off: nothing. */
  mode: 'on' | 'observe' | 'off';
  /** Minimum cosine similarity for a prompt to match a remembered pattern. */
  threshold: number;
  /** Failures a pattern needs before its learned instruction is applied. */
  minFailures: number;
  secrets: 'redact' | 'block';
  /** Injection score at or above which a prompt is refused (below it, it is fenced off as data). */
  injectionBlockScore: number;
  /** Injection score at or above which the prompt is guarded. */
  injectionGuardScore: number;
  maxPromptChars: number;
}

const emptyToUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);
const num = (def: number, min: number, max: number) => z.preprocess(emptyToUndefined, z.coerce.number().min(min).max(max).default(def));

export const immuneEnvShape = {
  TASK_ORCHESTRATOR_IMMUNE: z.preprocess(
    (v) => (typeof v === 'string' && v.trim() !== '' ? v.trim().toLowerCase() : undefined),
    z.enum(['on', 'observe', 'off']).default('on'),
  ),
  TASK_ORCHESTRATOR_IMMUNE_THRESHOLD: num(0.2, 0.05, 1),
  TASK_ORCHESTRATOR_IMMUNE_MIN_FAILURES: num(2, 1, 100),
  TASK_ORCHESTRATOR_IMMUNE_SECRETS: z.preprocess(
    (v) => (typeof v === 'string' && v.trim() !== '' ? v.trim().toLowerCase() : undefined),
    z.enum(['redact', 'block']).default('redact'),
  ),
  TASK_ORCHESTRATOR_IMMUNE_INJECTION_BLOCK: num(0.97, 0, 1),
  TASK_ORCHESTRATOR_IMMUNE_MAX_PROMPT_CHARS: num(1_000_000, 100, 100_000_000),
};

type ImmuneEnv = { [K in keyof typeof immuneEnvShape]: z.output<(typeof immuneEnvShape)[K]> };

export function immuneConfigFrom(e: ImmuneEnv): ImmuneConfig {
  return {
    mode: e.TASK_ORCHESTRATOR_IMMUNE,
    threshold: e.TASK_ORCHESTRATOR_IMMUNE_THRESHOLD,
    minFailures: Math.round(e.TASK_ORCHESTRATOR_IMMUNE_MIN_FAILURES),
    secrets: e.TASK_ORCHESTRATOR_IMMUNE_SECRETS,
    injectionBlockScore: e.TASK_ORCHESTRATOR_IMMUNE_INJECTION_BLOCK,
    injectionGuardScore: 0.6,
    maxPromptChars: Math.round(e.TASK_ORCHESTRATOR_IMMUNE_MAX_PROMPT_CHARS),
  };
}

export const DEFAULT_IMMUNE_CONFIG: ImmuneConfig = immuneConfigFrom(z.object(immuneEnvShape).parse({}));
