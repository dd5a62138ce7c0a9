import { RE2JS } from 're2js';

/**
 * Patterns from the calling model (regex graders, `pattern` in JSON Schemas) run on agent output
 * on the main thread. JavaScript's backtracking engine can take exponential time on patterns as
 * plain as `^(a|a)*$`, and no syntactic check catches every such shape, so they run on RE2
 * (re2js, pure JavaScript): matching time is linear in the text, whatever the pattern. The price
 * is RE2's syntax: no lookaround, no backreferences.
 */

export const REGEX_MAX_PATTERN_CHARS = 1000;
/** Allowed flags: i, m, s, u. (RE2 is Unicode-aware either way; u is accepted for familiarity.) */
const REGEX_FLAGS = /^(?!.*(.).*\1)[imsu]*$/;

export interface LinearRegex {
  /**
   * Index of the first match, or -1. re2js finds positions on a much slower path than it answers
   * yes/no (about 22 µs per character for a pattern like `[ab]{0,900}[cd]`), so call it only on
   * short texts.
   */
  search(text: string): number;
  test(text: string): boolean;
  /** `/pattern/flags`, like RegExp: Ajv caches compiled patterns under this key. */
  toString(): string;
}

/** A pattern RE2 cannot run (lookaround, backreferences, ...). */
export class LinearRegexSyntaxError extends Error {
  override readonly name = 'LinearRegexSyntaxError';
}

/**
 * ECMAScript escapes RE2 spells differently: `\uXXXX` and `\u{X...}` become `\x{...}` (common in
 * JSON Schema patterns such as `^[\u4e00-\u9fa5]+$`). An escaped backslash (`\\u`) is left alone.
 */
function toRe2Syntax(pattern: string): string {
  return pattern.replace(/(\\+)u(?:\{([0-9a-fA-F]{1,6})\}|([0-9a-fA-F]{4}))/g, (match, slashes: string, braced?: string, four?: string) =>
    slashes.length % 2 === 1 ? `${slashes.slice(1)}\\x{${braced ?? four}}` : match,
  );
}

/** Returns a problem the caller can fix, or undefined when the pattern compiles. */
export function checkRegexPattern(pattern: string, flags = ''): string | undefined {
  const parsed = parseRegex(pattern, flags);
  return 'problem' in parsed ? parsed.problem : undefined;
}

/** The compiled pattern, or a problem the caller can fix. */
export function parseRegex(pattern: string, flags = ''): { regex: LinearRegex } | { problem: string } {
  if (pattern.length === 0) return { problem: 'pattern is empty' };
  if (pattern.length > REGEX_MAX_PATTERN_CHARS) return { problem: `pattern is longer than ${REGEX_MAX_PATTERN_CHARS} characters` };
  if (!REGEX_FLAGS.test(flags)) return { problem: `flags "${flags}" are not allowed: use any of i, m, s, u once each` };
  try {
    return { regex: compileLinearRegex(pattern, flags) };
  } catch (err) {
    return {
      problem: `pattern is not valid RE2 syntax, which graders use so that no pattern can freeze the server (no lookaround or backreferences): ${err instanceof Error ? err.message : String(err)}`,
    };
  }
}

/** Compiles with RE2 semantics; throws on syntax RE2 does not accept. */
export function compileLinearRegex(pattern: string, flags = ''): LinearRegex {
  let bits = 0;
  if (flags.includes('i')) bits |= RE2JS.CASE_INSENSITIVE;
  if (flags.includes('m')) bits |= RE2JS.MULTILINE;
  if (flags.includes('s')) bits |= RE2JS.DOTALL;
  let re: RE2JS;
  try {
    re = RE2JS.compile(toRe2Syntax(pattern), bits);
  } catch (err) {
    throw new LinearRegexSyntaxError(err instanceof Error ? err.message : String(err));
  }
  return {
    search(text) {
      const matcher = re.matcher(text);
      return matcher.find() ? matcher.start() : -1;
    },
    test: (text) => re.test(text),
    toString: () => `/${pattern}/${flags}`,
  };
}

/**
 * Ajv's `code.regExp` engine: JSON Schema `pattern` and `patternProperties` on RE2. `code` is what
 * Ajv's standalone code generation would emit; we only compile at run time.
 */
export const ajvLinearRegExp = Object.assign((pattern: string) => compileLinearRegex(pattern), {
  code: 'compileLinearRegex',
});
