/** A prompt size cap: refuses prompts (with system text) longer than the configured characters. */
export function checkPromptSize(prompt: string, system: string | undefined, maxChars: number): string | undefined {
  const size = prompt.length + (system?.length ?? 0);
  if (size <= maxChars) return undefined;
  return `prompt and system text are ${size} characters; the immune system's cap is ${maxChars} (TASK_ORCHESTRATOR_IMMUNE_MAX_PROMPT_CHARS)`;
}
