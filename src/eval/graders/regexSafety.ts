/**
 * Regex patterns come from the calling model and run on agent output, so a pattern that
 * backtracks catastrophically would freeze the server. We reject, at validation time, invalid
 * patterns, stateful flags, and the classic exponential shape: an unbounded quantifier applied
 * to a group that itself contains one, e.g. `(a+)+`, `(\w+\s?)*`. Quadratic patterns remain
 * possible, so the grader also bounds the text it searches (REGEX_MAX_INPUT_CHARS).
 */

export const REGEX_MAX_PATTERN_CHARS = 1000;
/** Allowed flags: i, m, s, u. `g`/`y` make test() stateful, `v` changes class syntax. */
export const REGEX_FLAGS = /^(?!.*(.).*\1)[imsu]*$/;

/** Returns a problem the caller can fix, or undefined when the pattern is acceptable. */
export function checkRegexPattern(pattern: string, flags = ''): string | undefined {
  if (pattern.length === 0) return 'pattern is empty';
  if (pattern.length > REGEX_MAX_PATTERN_CHARS) return `pattern is longer than ${REGEX_MAX_PATTERN_CHARS} characters`;
  if (!REGEX_FLAGS.test(flags)) return `flags "${flags}" are not allowed: use any of i, m, s, u once each`;
  try {
    new RegExp(pattern, flags);
  } catch (err) {
    return `pattern is not a valid JavaScript regular expression (${err instanceof Error ? err.message : String(err)})`;
  }
  const nested = findNestedQuantifier(pattern);
  if (nested !== undefined) {
    return `pattern repeats a group that already contains a repeat near position ${nested} (like (a+)+), which can backtrack catastrophically; rewrite it without nested repetition (e.g. [\\w\\s]* instead of (\\w+\\s?)*)`;
  }
  return undefined;
}

interface Frame {
  hasUnbounded: boolean;
}

type LastAtom = { kind: 'atom' } | { kind: 'group'; hasUnbounded: boolean } | undefined;

const BRACE_QUANTIFIER = /^\{(\d+)(,(\d*))?\}/;

/** Index of the first unbounded quantifier applied to a group containing an unbounded quantifier. */
export function findNestedQuantifier(pattern: string): number | undefined {
  const stack: Frame[] = [{ hasUnbounded: false }];
  let last: LastAtom;
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i]!;
    if (c === '\\') {
      i += 2;
      last = { kind: 'atom' };
      continue;
    }
    if (c === '[') {
      i++;
      if (pattern[i] === '^') i++;
      if (pattern[i] === ']') i++; // a leading ] is literal
      while (i < pattern.length && pattern[i] !== ']') i += pattern[i] === '\\' ? 2 : 1;
      i++;
      last = { kind: 'atom' };
      continue;
    }
    if (c === '(') {
      stack.push({ hasUnbounded: false });
      last = undefined;
      i++;
      continue;
    }
    if (c === ')') {
      const group = stack.length > 1 ? stack.pop()! : { hasUnbounded: false };
      const parent = stack[stack.length - 1]!;
      parent.hasUnbounded ||= group.hasUnbounded;
      last = { kind: 'group', hasUnbounded: group.hasUnbounded };
      i++;
      continue;
    }
    let unbounded: boolean | undefined;
    let width = 1;
    if (c === '*' || c === '+') unbounded = true;
    else if (c === '?') unbounded = false;
    else if (c === '{') {
      const m = BRACE_QUANTIFIER.exec(pattern.slice(i, i + 32));
      if (m) {
        unbounded = m[2] !== undefined && m[3] === '';
        width = m[0].length;
      }
    }
    if (unbounded === undefined || last === undefined) {
      // A literal character (or a "?" right after "(" as in (?:, (?=, (?<name>).
      last = { kind: 'atom' };
      i++;
      continue;
    }
    if (unbounded) {
      if (last.kind === 'group' && last.hasUnbounded) return i;
      stack[stack.length - 1]!.hasUnbounded = true;
    }
    i += width;
    if (pattern[i] === '?') i++; // lazy
    last = undefined;
  }
  return undefined;
}
