import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { withConfigFile } from '../../src/configFile.js';
import { makeTempDir } from '../helpers/paths.js';

function homeWith(content: unknown, mode = 0o600): string {
  const home = makeTempDir();
  const file = path.join(home, 'config.json');
  fs.writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  fs.chmodSync(file, mode);
  return home;
}

describe('config.json in the data directory', () => {
  it('is optional: without it the environment is all there is', () => {
    const home = makeTempDir();
    const layered = withConfigFile({ TASK_ORCHESTRATOR_HOME: home, LOG_LEVEL: 'warn' });
    expect(layered.file).toBeUndefined();
    expect(loadConfig(layered.env).logLevel).toBe('warn');
  });

  it('holds the same variables as the environment; lists, numbers and objects are accepted', () => {
    const home = homeWith({
      GEMINI_API_KEY: 'AIzaSyFILEKEY0123456789abcdefghijklmno',
      TASK_ORCHESTRATOR_MODEL_TIERS: ['gemini-2.5-flash', 'gemini-2.5-pro'],
      TASK_ORCHESTRATOR_RETRY_MAX: 2,
      TASK_ORCHESTRATOR_PRICES: { 'my-model': { input: 1, output: 2 } },
    });
    const layered = withConfigFile({ TASK_ORCHESTRATOR_HOME: home });
    const config = loadConfig(layered.env);
    expect(layered.file).toBe(path.join(home, 'config.json'));
    expect(config.gemini.apiKey).toBe('AIzaSyFILEKEY0123456789abcdefghijklmno');
    expect(config.secrets).toContain('AIzaSyFILEKEY0123456789abcdefghijklmno');
    expect(config.models.tiers).toEqual(['gemini-2.5-flash', 'gemini-2.5-pro']);
    expect(config.retry.maxRetries).toBe(2);
    expect(config.prices['my-model']).toEqual({ input: 1, output: 2 });
    expect(layered.warnings).toEqual([]);
  });

  it('the environment wins over the file; an empty variable does not blank the file', () => {
    const home = homeWith({ LOG_LEVEL: 'debug', TASK_ORCHESTRATOR_TOOLS: 'core' });
    const layered = withConfigFile({ TASK_ORCHESTRATOR_HOME: home, LOG_LEVEL: 'error', TASK_ORCHESTRATOR_TOOLS: '' });
    const config = loadConfig(layered.env);
    expect(config.logLevel).toBe('error');
    expect(config.tools.selection).toBe('core');
    expect([...layered.fromFile]).toEqual(['TASK_ORCHESTRATOR_TOOLS']);
  });

  it.each([
    ['{ not json', /config\.json is not valid JSON/],
    ['["a"]', /config\.json must be a JSON object/],
    [{ GEMNI_API_KEY: 'x' }, /GEMNI_API_KEY in .*config\.json is not a configuration variable/],
    [{ TASK_ORCHESTRATOR_HOME: '/elsewhere' }, /TASK_ORCHESTRATOR_HOME in .*config\.json cannot be set there/],
    [{ LOG_LEVEL: null }, /LOG_LEVEL in .*config\.json must be a string, number, boolean/],
  ])('refuses a bad file %j with a message naming what is wrong', (content, pattern) => {
    const home = homeWith(content);
    expect(() => withConfigFile({ TASK_ORCHESTRATOR_HOME: home })).toThrow(pattern);
  });

  it('a syntax error says where, without quoting the file (it may hold a key)', () => {
    const home = homeWith('{\n  "GEMINI_API_KEY": AIzaSyNOTQUOTED0123456789abcdef\n}');
    let message = '';
    try {
      withConfigFile({ TASK_ORCHESTRATOR_HOME: home });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/config\.json is not valid JSON/);
    expect(message).not.toContain('AIzaSy');
  });

  it.skipIf(process.platform === 'win32')('warns when a file holding keys is readable by other users', () => {
    const home = homeWith({ GEMINI_API_KEY: 'AIzaSyFILEKEY0123456789abcdefghijklmno' }, 0o644);
    const { warnings } = withConfigFile({ TASK_ORCHESTRATOR_HOME: home });
    expect(warnings).toEqual([expect.stringMatching(/holds API keys and other users can read it; chmod 600/)]);
    expect(warnings.join()).not.toContain('AIzaSyFILEKEY');
  });
});
