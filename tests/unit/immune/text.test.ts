import { describe, expect, it } from 'vitest';
import { identifyFailure } from '../../../src/immune/fingerprint.js';
import { maskVariables } from '../../../src/immune/text/mask.js';
import { findSecrets, redactPromptSecrets } from '../../../src/immune/text/redact.js';
import { stemmedTerms } from '../../../src/immune/text/tokens.js';

const facts = (prompt: string, over = {}) => ({
  status: 'failed' as const,
  operation: 'agent',
  prompt,
  finishReason: 'stop',
  errorCode: null,
  graderResults: [{ type: 'json_valid', pass: false, required: true }],
  ...over,
});

describe('masking and fingerprints', () => {
  it('masks numbers, ids, paths, dates, urls and uuids', () => {
    const masked = maskVariables('Read /var/log/app-7.log on 2026-01-15 at 10:30 for order 48213 (id a1b2c3d4-1111-2222-3333-444455556666, ref ord_9x7) see https://x.test/a?b=1');
    expect(masked).toBe('Read <path> on <date> at <time> for order <num> (id <uuid>, ref <id>) see <url>');
  });

  it('gives the same fingerprint to the same failure with other values, another to another grader or prompt', () => {
    const a = identifyFailure(facts('Summarise invoice 1234 from 2026-01-02 in /tmp/a.txt'));
    const b = identifyFailure(facts('Summarise invoice 98 from 2025-12-31 in /home/u/b.txt'));
    const otherGrader = identifyFailure(facts('Summarise invoice 1234 from 2026-01-02 in /tmp/a.txt', { graderResults: [{ type: 'length', pass: false, required: true }] }));
    const otherPrompt = identifyFailure(facts('Translate invoice 1234 into French'));
    expect(a.fingerprint).toBe(b.fingerprint);
    expect(a.failureClass).toBe('grader:json_valid');
    expect(otherGrader.fingerprint).not.toBe(a.fingerprint);
    expect(otherGrader.failureClass).toBe('grader:length');
    expect(otherPrompt.fingerprint).not.toBe(a.fingerprint);
  });

  it('classes errors by code and cut-off answers by finish reason', () => {
    expect(identifyFailure(facts('p', { status: 'errored', errorCode: 'timeout', graderResults: [] })).failureClass).toBe('error:timeout');
    expect(identifyFailure(facts('p', { finishReason: 'length' })).failureClass).toBe('finish:length');
  });
});

describe('tokens', () => {
  it('stems, lower-cases and drops stopwords', () => {
    expect(stemmedTerms('The Answers were RUNNING over-budget')).toEqual(['answer', 'run', 'budget']);
  });
});

describe('secret redaction', () => {
  const samples: Array<[string, string]> = [
    ['google_api_key', 'key AIzaSyA1234567890abcdefghijklmnopqrs'],
    ['openai_key', 'use sk-proj-abcdefghijklmnopqrstuvwxyz123456'],
    ['aws_access_key', 'AKIAIOSFODNN7EXAMPLE is the key'],
    ['github_token', 'token ghp_abcdefghijklmnopqrstuvwxyz0123456789'],
    ['slack_token', 'xoxb-123456789012-abcdefghij'],
    ['stripe_key', 'sk_live_abcdefghijklmnop1234'],
    ['credential_assignment', 'password = hunter2hunter2'],
    ['private_key', '-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----'],
    ['high_entropy_token', 'x Zk3mQ9vLw2Rt8YpN4sBd7Hc1Jf6Gx0Ae5'],
    ['url_credentials', 'postgres://admin:s3cretPw@db.internal/app'],
  ];
  for (const [kind, text] of samples) {
    it(`finds and redacts ${kind}`, () => {
      expect(findSecrets(text).map((f) => f.kind)).toContain(kind);
      const out = redactPromptSecrets(text);
      expect(out).toContain('[REDACTED]');
      expect(findSecrets(out).filter((f) => f.kind === kind)).toEqual([]);
    });
  }

  it('redacts configured secrets and keeps prose, hashes and numbers', () => {
    expect(redactPromptSecrets('use literal-configured-secret-123 now', ['literal-configured-secret-123'])).toBe('use [REDACTED] now');
    const prose = 'Commit 3f786850e387550fdab836ed7e6dc881de23001b fixed order 12345678; tokens are counted.';
    expect(redactPromptSecrets(prose)).toBe(prose);
    expect(findSecrets(prose)).toEqual([]);
  });
});
