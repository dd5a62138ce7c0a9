import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

const problem = (env: Record<string, string>): string => {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('accepted');
};

describe('URL variables: errors name the variable and what is expected', () => {
  it.each(['GEMINI_BASE_URL', 'OPENAI_BASE_URL', 'LANGFUSE_BASE_URL'])('%s', (variable) => {
    expect(problem({ [variable]: 'ftp://example.com' })).toBe(`Invalid configuration: ${variable} must be an http(s) URL such as https://host:port/path (got "ftp://example.com")`);
  });

  it('GEMINI_BASE_URL with a query string is refused (the client appends its paths), and its key is not echoed', () => {
    const message = problem({ GEMINI_BASE_URL: 'https://gw.example.com/gemini?key=AIzaSyA-0123456789abcdefghijklmnop' });
    expect(message).toMatch(/^Invalid configuration: GEMINI_BASE_URL must not carry a query string or fragment/);
    expect(message).not.toContain('AIzaSyA-0123456789');
    expect(loadConfig({ GEMINI_BASE_URL: 'https://gw.example.com/gemini' }).gemini.baseUrl).toBe('https://gw.example.com/gemini');
  });
});
