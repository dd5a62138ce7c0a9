/**
 * A conservative token count for text we have not sent: one token per 3 UTF-8 bytes. Latin text
 * runs ~4 characters a token, so this over-counts it; CJK and emoji (3–4 bytes a character, about
 * a token each) come out near the truth instead of several times low.
 */
export function estimateTokens(text: string): number {
  return Math.ceil(Buffer.byteLength(text, 'utf8') / 3);
}
