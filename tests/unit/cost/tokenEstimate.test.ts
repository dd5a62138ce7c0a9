import { describe, expect, it } from 'vitest';
import { estimateTokens } from '../../../src/tokenEstimate.js';

/** What Gemini bills, at most (SentencePiece with byte fallback): see src/tokenEstimate.ts. */
describe('estimateTokens: never below what Gemini bills', () => {
  it('English: over-counts (~4 characters a token billed; we count 3 bytes a token)', () => {
    const text = 'The quick brown fox jumps over the lazy dog. '.repeat(10);
    expect(estimateTokens(text)).toBe(Math.ceil(text.length / 3));
    expect(estimateTokens(text)).toBeGreaterThan(text.length / 4);
  });

  it('CJK: one token per character (Gemini bills ~0.6–1), where chars/4 says a quarter of it', () => {
    for (const text of ['请将以下段落翻译成英文。', '日本語の文章を要約してください。', '다음 문장을 영어로 번역하세요.']) {
      const chars = [...text].filter((c) => c.charCodeAt(0) > 0x7f).length;
      expect(estimateTokens(text)).toBeGreaterThanOrEqual(chars);
    }
    expect(estimateTokens('中'.repeat(1000))).toBe(1000);
  });

  it('emoji and other characters outside the BMP: one token per UTF-8 byte (byte fallback), not 4/3', () => {
    expect(estimateTokens('🦄')).toBe(4);
    expect(estimateTokens('🦄'.repeat(100))).toBe(400);
    // 👩‍💻 = U+1F469 U+200D U+1F4BB: two 4-byte code points and a 3-byte joiner.
    expect(estimateTokens('👩‍💻')).toBe(4 + 1 + 4);
    expect(estimateTokens('𠀀')).toBe(4); // CJK Extension B
  });

  it('a lone surrogate counts as the 3-byte replacement character it is sent as', () => {
    expect(estimateTokens('\ud83e')).toBe(1);
    expect(estimateTokens('')).toBe(0);
  });
});
