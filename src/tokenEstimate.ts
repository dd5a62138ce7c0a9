/**
 * A conservative token count for text we have not sent. Gemini's tokenizer (SentencePiece, a
 * 256k vocabulary with byte fallback) bills English at ~4 characters a token, CJK at up to one
 * token a character (a common ideograph is one piece; Gemini reports ~0.6–1 per character), and
 * a character it has no piece for at one token per UTF-8 byte. So: one token per 3 UTF-8 bytes
 * (over-counts Latin text by ~1/3, exactly one per CJK character, 2/3 per Cyrillic or Greek
 * letter), except that a code point outside the Basic Multilingual Plane (emoji, rare CJK) counts
 * as 4 tokens — one per byte, the byte-fallback worst case — not 4/3. A chars/4 estimate (what the
 * emulator bills, and what this was before) is 4x low for CJK and up to 12x low for emoji.
 */
export function estimateTokens(text: string): number {
  let bytes = 0;
  let astral = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        astral += 1;
        i++;
        continue;
      }
      bytes += 3; // a lone surrogate is sent as U+FFFD
    } else bytes += 3;
  }
  return Math.ceil(bytes / 3) + astral * 4;
}
