import { findSecrets, redactPromptSecrets } from '../text/redact.js';

export type SecretPolicy = 'redact' | 'block';

export type SecretVerdict =
  | { action: 'none' }
  | { action: 'redact'; prompt: string; system: string | undefined; kinds: string[] }
  | { action: 'block'; kinds: string[] };

/** Secrets in what would be sent to a model: redacted, or the call refused, per policy. */
export function checkSecrets(prompt: string, system: string | undefined, policy: SecretPolicy, known: readonly string[] = []): SecretVerdict {
  const kinds = [...new Set([...findSecrets(prompt, known), ...findSecrets(system ?? '', known)].map((f) => f.kind))];
  if (kinds.length === 0) return { action: 'none' };
  if (policy === 'block') return { action: 'block', kinds };
  return {
    action: 'redact',
    prompt: redactPromptSecrets(prompt, known),
    system: system === undefined ? undefined : redactPromptSecrets(system, known),
    kinds,
  };
}
