import { redactSecrets } from '../../errors.js';

/**
 * Secrets in prompts: the shared redaction (configured keys, Google/OpenAI keys, bearer tokens,
 * JWTs) plus API-key-shaped strings of other services and generic credential assignments. What
 * is stored in the failure memory went through here first.
 */
interface SecretPattern {
  kind: string;
  pattern: RegExp;
  /** Group 1 is a prefix to keep (`password=`), the rest is the secret. */
  keepPrefix?: boolean;
}

const SECRET_PATTERNS: readonly SecretPattern[] = [
  { kind: 'private_key', pattern: /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)/g },
  { kind: 'google_api_key', pattern: /AIza[0-9A-Za-z_-]{20,}/g },
  { kind: 'openai_key', pattern: /\bsk-(?:proj-|live-)?[A-Za-z0-9_-]{16,}/g },
  { kind: 'anthropic_key', pattern: /\bsk-ant-[A-Za-z0-9_-]{16,}/g },
  { kind: 'aws_access_key', pattern: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g },
  { kind: 'github_token', pattern: /\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})/g },
  { kind: 'slack_token', pattern: /\bxox[abprs]-[A-Za-z0-9-]{10,}/g },
  { kind: 'stripe_key', pattern: /\b[rs]k_(?:live|test)_[A-Za-z0-9]{16,}/g },
  { kind: 'jwt', pattern: /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g },
  { kind: 'bearer_token', pattern: /(Bearer\s+)[A-Za-z0-9._~+/-]{12,}=*/gi, keepPrefix: true },
  { kind: 'url_credentials', pattern: /(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]+:)(?!\[REDACTED\])[^\s@/]+(?=@)/gi, keepPrefix: true },
  {
    kind: 'credential_assignment',
    pattern: /(\b(?:api[_-]?key|secret(?:[_-]?key)?|access[_-]?token|auth[_-]?token|token|password|passwd|pwd|client[_-]?secret)["']?\s*[:=]\s*["']?)(?!\[REDACTED\])[^\s"',;}]{6,}/gi,
    keepPrefix: true,
  },
  // Long mixed-case-and-digit strings are keys far more often than prose; hex hashes stay (no upper case).
  { kind: 'high_entropy_token', pattern: /\b(?=[A-Za-z0-9_-]{32,}\b)(?=[A-Za-z0-9_-]*[A-Z])(?=[A-Za-z0-9_-]*[a-z])(?=[A-Za-z0-9_-]*\d)[A-Za-z0-9_-]{32,}\b/g },
];

export interface SecretFinding {
  kind: string;
  /** Characters of the secret found (never the secret). */
  length: number;
}

/** What looks like a secret in `text`, by kind. */
export function findSecrets(text: string, knownSecrets: readonly string[] = []): SecretFinding[] {
  const found: SecretFinding[] = [];
  for (const secret of knownSecrets) if (secret.length >= 6 && text.includes(secret)) found.push({ kind: 'configured_secret', length: secret.length });
  for (const { kind, pattern, keepPrefix } of SECRET_PATTERNS) {
    for (const match of text.matchAll(pattern)) {
      const prefix = keepPrefix ? (match[1] ?? '') : '';
      found.push({ kind, length: match[0].length - prefix.length });
    }
  }
  return found;
}

/** `text` with every secret replaced by [REDACTED]. */
export function redactPromptSecrets(text: string, knownSecrets: readonly string[] = []): string {
  let out = redactSecrets(text, knownSecrets);
  for (const { pattern, keepPrefix } of SECRET_PATTERNS) {
    out = out.replace(pattern, (_match: string, prefix: unknown) => (keepPrefix && typeof prefix === 'string' ? `${prefix}[REDACTED]` : '[REDACTED]'));
  }
  return out;
}
