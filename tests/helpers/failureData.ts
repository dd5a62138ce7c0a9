import { seededRandom } from '../../src/prediction/random.js';
import { sigmoid } from '../../src/prediction/logistic.js';

/**
 * A generated set of trial records (format 2) with a learnable failure rule plus noise: each
 * record's failure is drawn from `trueRisk`, so the best any model can do is the AUC of those
 * probabilities. Outcome fields follow the label (attempts, error code, output), as in real data:
 * a model that read them would score far above that ceiling.
 */
export interface GeneratedRecord {
  record: Record<string, unknown>;
  trueRisk: number;
  label: 0 | 1;
}

const FILLER = 'the a of data report user team item list value system service page file result summary customer order project plan note week month table field record'.split(' ');
const TOPICS = ['water cycle', 'quarterly sales', 'login flow', 'shipping policy', 'error budget', 'release notes', 'onboarding', 'cache layer'];
/** Words that make a prompt hard (the rule's text part). */
const HARD = ['prove', 'regex', 'recursive', 'concurrency', 'theorem', 'cryptographic'];
/**
 * How sharply the rule separates (its log-odds are multiplied by this). At 1 the draw is so noisy
 * that the true probabilities' hold-out AUC is only ~0.82, so "AUC ≥ 0.8" would demand ~97% of
 * the ceiling, within the sampling error of a 400-row hold-out (±0.02): a coin flip, not a test
 * of learning. At 1.5 the noise is moderate (the bench prints the true AUC) and the rule, its
 * features and their weights are unchanged.
 */
export const SIGNAL = 1.5;
const MODELS = ['gemini-2.5-flash-lite', 'gemini-2.5-flash', 'gemini-2.5-pro'];

export function generateRecords(n: number, seed = 42, signal = SIGNAL): GeneratedRecord[] {
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const start = Date.UTC(2026, 0, 1);
  const out: GeneratedRecord[] = [];
  for (let i = 0; i < n; i++) {
    const hard = random() < 0.3;
    const schema = random() < 0.35;
    const exact = random() < 0.25;
    const model = pick(MODELS);
    const words = 5 + Math.floor(random() * 40);
    const parts: string[] = [`Write about the ${pick(TOPICS)}.`];
    for (let w = 0; w < words; w++) parts.push(pick(FILLER));
    if (hard) parts.splice(1 + Math.floor(random() * words), 0, pick(HARD));
    if (exact) parts.push(`Answer in exactly ${3 + Math.floor(random() * 20)} words.`);
    const prompt = parts.join(' ');
    const lite = model.includes('lite');
    const pro = model.endsWith('-pro');
    const z = signal * (-2.0 + 2.4 * (hard ? 1 : 0) + 1.8 * (schema && lite ? 1 : 0) + 1.3 * (exact ? 1 : 0) - 1.0 * (pro ? 1 : 0) + 0.02 * words);
    const trueRisk = sigmoid(z);
    const label: 0 | 1 = random() < trueRisk ? 1 : 0;
    const errored = label === 1 && random() < 0.2;
    const created = new Date(start + i * 60_000).toISOString();
    const status = errored ? 'errored' : label === 1 ? 'failed' : 'passed';
    const graders = errored ? null : [{ type: 'non_empty', required: true }, ...(schema ? [{ type: 'json_schema', required: true }] : [])];
    out.push({
      trueRisk,
      label,
      record: {
        format: 'task-orchestrator.trial.v2',
        id: `trial-${i}`,
        created_at: created,
        updated_at: created,
        input: {
          provider: 'google_gemini',
          model,
          task_id: null,
          parent_run_id: null,
          tags: [],
          prompt,
          processed_prompt: null,
          system: random() < 0.3 ? 'You are terse.' : null,
          response_schema: schema ? { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'] } : null,
          graders,
          features: {},
        },
        outcome: {
          status,
          passed: status === 'passed' ? true : status === 'failed' ? false : null,
          model,
          model_reason: null,
          escalated: false,
          output: errored ? null : label === 1 ? '' : 'a fine answer',
          output_chars: errored ? null : label === 1 ? 0 : 13,
          parsed_json: null,
          finish_reason: label === 1 ? 'length' : 'stop',
          error: errored ? { code: 'provider_error', message: 'HTTP 500' } : null,
          grading: null,
          usage: { input_tokens: 10, output_tokens: 5 },
          cost_usd: 0.001,
          latency_ms: 100,
          attempts: label === 1 ? 3 : 1,
          retried: label === 1,
        },
      },
    });
  }
  return out;
}

export function toJsonl(records: readonly GeneratedRecord[]): string {
  return records.map((r) => JSON.stringify(r.record)).join('\n') + '\n';
}
