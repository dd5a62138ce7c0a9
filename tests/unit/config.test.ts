import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, resolveDataDir } from '../../src/config.js';

describe('loadConfig', () => {
  it('has working defaults with an empty environment', () => {
    const config = loadConfig({ HOME: '/home/u' });
    expect(config.dataDir).toBe(path.join('/home/u', '.task-orchestrator'));
    expect(config.dbPath).toBe(path.join('/home/u', '.task-orchestrator', 'orchestrator.db'));
    expect(config.logLevel).toBe('info');
    expect(config.tools).toEqual({ selection: 'all', disabled: [] });
    expect(config.gemini.apiKey).toBeUndefined();
    expect(config.models.tiers).toEqual(['gemini-2.5-flash-lite', 'gemini-2.5-flash', 'gemini-2.5-pro']);
    expect(config.retry).toEqual({ maxRetries: 5, baseDelayMs: 2000, maxDelayMs: 60000 });
    expect(config.breaker).toEqual({ failureThreshold: 3, resetTimeoutMs: 30000, minFailureRate: 0.8 });
    expect(config.agents.callTimeoutMs).toBe(120000);
    expect(config.langfuse).toBeUndefined();
  });

  it.each([
    [{ TASK_ORCHESTRATOR_HOME: '/data/to', XDG_DATA_HOME: '/xdg' }, '/data/to'],
    [{ XDG_DATA_HOME: '/xdg' }, '/xdg/task-orchestrator'],
    [{ HOME: '/h' }, '/h/.task-orchestrator'],
  ])('resolves the data directory from %o', (env, expected) => {
    expect(resolveDataDir(env)).toBe(expected);
  });

  it('reads the Gemini key from GEMINI_API_KEY or GOOGLE_API_KEY and remembers it as a secret', () => {
    expect(loadConfig({ GOOGLE_API_KEY: 'AIzaSyFAKEFAKEFAKE' }).gemini.apiKey).toBe('AIzaSyFAKEFAKEFAKE');
    const config = loadConfig({ GEMINI_API_KEY: 'gem-key-123', GOOGLE_API_KEY: 'other' });
    expect(config.gemini.apiKey).toBe('gem-key-123');
    expect(config.secrets).toContain('gem-key-123');
  });

  it.each([
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ GEMINI_BASE_URL: 'not a url' }, 'GEMINI_BASE_URL'],
    [{ TASK_ORCHESTRATOR_RETRY_MAX: 'many' }, 'TASK_ORCHESTRATOR_RETRY_MAX'],
    [{ TASK_ORCHESTRATOR_BREAKER_THRESHOLD: '0' }, 'TASK_ORCHESTRATOR_BREAKER_THRESHOLD'],
    [{ TASK_ORCHESTRATOR_TIMEZONE: 'Mars/Olympus' }, 'TASK_ORCHESTRATOR_TIMEZONE'],
    [{ TASK_ORCHESTRATOR_PRICES: '{bad json' }, 'TASK_ORCHESTRATOR_PRICES'],
    [{ TASK_ORCHESTRATOR_PRICES: '{"m":{"input":-1,"output":1}}' }, 'TASK_ORCHESTRATOR_PRICES'],
    [{ TASK_ORCHESTRATOR_TOOLS: 'Tasks Add' }, 'TASK_ORCHESTRATOR_TOOLS'],
    [{ LANGFUSE_PUBLIC_KEY: 'pk-lf-1' }, 'LANGFUSE_SECRET_KEY'],
    [{ TASK_ORCHESTRATOR_RETRY_BASE_MS: '5000', TASK_ORCHESTRATOR_RETRY_MAX_DELAY_MS: '1000' }, 'TASK_ORCHESTRATOR_RETRY_MAX_DELAY_MS'],
  ])('rejects %o naming %s', (env, variable) => {
    let error: unknown;
    try {
      loadConfig(env);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(variable);
    expect((error as ConfigError).message).toContain(variable);
  });

  it('never echoes a secret value in a configuration error', () => {
    expect(() => loadConfig({ LANGFUSE_SECRET_KEY: 'sk-lf-very-secret' })).toThrow(ConfigError);
    try {
      loadConfig({ LANGFUSE_SECRET_KEY: 'sk-lf-very-secret' });
    } catch (err) {
      expect((err as Error).message).not.toContain('very-secret');
    }
  });

  it('parses tool selections and price overrides', () => {
    const config = loadConfig({
      TASK_ORCHESTRATOR_TOOLS: 'tasks_add, tasks_list',
      TASK_ORCHESTRATOR_DISABLED_TOOLS: 'tasks_delete',
      TASK_ORCHESTRATOR_PRICES: '{"my-model":{"input":1,"output":2}}',
      LOG_LEVEL: 'DEBUG',
    });
    expect(config.tools).toEqual({ selection: ['tasks_add', 'tasks_list'], disabled: ['tasks_delete'] });
    expect(config.prices['my-model']).toEqual({ input: 1, output: 2 });
    expect(config.logLevel).toBe('debug');
  });
});
