export interface Bounded {
  text: string;
  truncated: boolean;
  originalLength: number;
}

/** Keeps the first 3/4 and last 1/4 of `max` characters, with a marker saying how much was cut. */
export function boundText(text: string, max: number): Bounded {
  if (text.length <= max) return { text, truncated: false, originalLength: text.length };
  const head = Math.floor(max * 0.75);
  const tail = max - head;
  const omitted = text.length - head - tail;
  return {
    text: `${text.slice(0, head)}\n[... ${omitted} characters omitted ...]\n${text.slice(text.length - tail)}`,
    truncated: true,
    originalLength: text.length,
  };
}
