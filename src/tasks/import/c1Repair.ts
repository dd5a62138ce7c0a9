/**
 * Node's TextDecoder decodes windows-1252 (and the iso-8859-1 label, which WHATWG maps to it) as
 * plain Latin-1 on Node 20.18.3+ and 22.13-22.18 (nodejs/node#60888, #56542), so smart quotes, €
 * and dashes of Outlook mails arrive as C1 control characters. Those never belong in mail text,
 * so each is mapped to the windows-1252 character its byte stands for.
 */
const WINDOWS_1252_C1: Record<number, string> = {
  0x80: '€', 0x82: '‚', 0x83: 'ƒ', 0x84: '„', 0x85: '…', 0x86: '†', 0x87: '‡', 0x88: 'ˆ', 0x89: '‰',
  0x8a: 'Š', 0x8b: '‹', 0x8c: 'Œ', 0x8e: 'Ž', 0x91: '‘', 0x92: '’', 0x93: '“', 0x94: '”', 0x95: '•',
  0x96: '–', 0x97: '—', 0x98: '˜', 0x99: '™', 0x9a: 'š', 0x9b: '›', 0x9c: 'œ', 0x9e: 'ž', 0x9f: 'Ÿ',
};

export function repairC1(text: string): string {
  // eslint-disable-next-line no-control-regex
  return /[\u0080-\u009f]/.test(text) ? text.replace(/[\u0080-\u009f]/g, (c) => WINDOWS_1252_C1[c.charCodeAt(0)] ?? '') : text;
}
