/**
 * ExpeL-style votes on a learned guardrail: it starts with `INITIAL_VOTES`; each call it was
 * applied to that then passed adds one, each that failed anyway takes one. At zero it is retired:
 * it does not help, and it says so.
 */
export const INITIAL_VOTES = 2;

export interface GuardrailTally {
  applied: number;
  passed: number;
  failed: number;
}

export function votes(t: GuardrailTally): number {
  return INITIAL_VOTES + t.passed - t.failed;
}

/** Why the guardrail should be retired, or undefined while it still earns its place. */
export function retirementReason(t: GuardrailTally): string | undefined {
  if (votes(t) > 0) return undefined;
  return `retired automatically: applied ${t.applied} time(s), then ${t.passed} passed and ${t.failed} failed anyway`;
}

/** Share of graded applications that then passed; undefined before any. */
export function passRateAfter(t: GuardrailTally): number | undefined {
  const graded = t.passed + t.failed;
  return graded === 0 ? undefined : t.passed / graded;
}
