/**
 * Masks what varies between otherwise identical prompts (numbers, ids, paths, dates), so two
 * failures of the same request with different values share a fingerprint.
 */
const MASKS: Array<[RegExp, string]> = [
  [/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<uuid>'],
  [/\bhttps?:\/\/[^\s"'<>)]+/gi, '<url>'],
  [/\b[\w.+-]+@[\w-]+(\.[\w-]+)+\b/g, '<email>'],
  [/\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\b/g, '<date>'],
  [/\b\d{1,2}[./]\d{1,2}[./]\d{2,4}\b/g, '<date>'],
  [/\b\d{1,2}:\d{2}(?::\d{2})?\b/g, '<time>'],
  [/(?:[A-Za-z]:\\|~?\/)?(?:[\w.-]+[\\/]){1,}[\w.-]+/g, '<path>'],
  [/\b[0-9a-f]{12,}\b/gi, '<hex>'],
  [/\b(?=[A-Za-z_-]*\d)(?=[\w-]*[A-Za-z])[A-Za-z0-9]+(?:[_-][A-Za-z0-9]+)*\b/g, '<id>'],
  [/[-+]?\b\d+(?:[.,]\d+)*\b/g, '<num>'],
];

export function maskVariables(text: string): string {
  let out = text;
  for (const [pattern, placeholder] of MASKS) out = out.replace(pattern, placeholder);
  return out.replace(/\s+/g, ' ').trim();
}
