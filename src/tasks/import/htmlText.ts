import { createRequire } from 'node:module';
import path from 'node:path';

type HtmlToText = (html: string) => string;

/**
 * postal-mime's own HTML → text conversion (the one it uses for its reply headers). Its package
 * exports only the parser, so the module is loaded by file path next to the entry point.
 */
export function htmlToText(html: string): string {
  const require = createRequire(import.meta.url);
  const entry = require.resolve('postal-mime');
  const format = require(path.join(path.dirname(entry), 'text-format.js')) as { htmlToText?: HtmlToText };
  if (typeof format.htmlToText !== 'function') throw new Error('postal-mime no longer ships text-format.htmlToText');
  return format.htmlToText(html);
}
