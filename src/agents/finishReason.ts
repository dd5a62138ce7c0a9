import type { FinishReason } from '../providers/types.js';

/**
 * How an answer ended, in words, for the tool texts and trials_get. Only the endings a reader
 * must know about are named: a stop says nothing, and `other` is too vague to be worth a word.
 */
export function finishNote(reason: string | null | undefined): string | undefined {
  if (reason === 'length') return 'truncated at max_output_tokens';
  if (reason === 'safety') return "stopped by the provider's safety filter";
  return undefined;
}

/**
 * Why an answer has no text, when the provider said why. The non_empty grader can only say
 * "Output is empty."; this names the cause and, for a spent budget, the fix.
 */
export function emptyAnswerReason(reason: FinishReason, providerReason: string | undefined): string | undefined {
  const raw = providerReason ? ` (${providerReason})` : '';
  if (reason === 'safety') return `No answer: blocked by the provider's safety filter${raw}.`;
  if (reason === 'length') {
    return `No answer: the output budget was used up before any text${raw}; raise max_output_tokens (thinking tokens count against it).`;
  }
  return undefined;
}
