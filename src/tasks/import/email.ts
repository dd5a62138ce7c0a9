import { createHash } from 'node:crypto';
import * as chrono from 'chrono-node';
import PostalMime, { type Address, type Email } from 'postal-mime';
import { dateLabel } from '../../time/due.js';
import type { ImportedTask, Priority } from '../taskStore.js';
import { repairC1 } from './c1Repair.js';
import { htmlToText } from './htmlText.js';
import { mapCalendar } from './ics.js';
import { DESCRIPTION_MAX, TITLE_MAX, clip, tidyText, type MapOptions, type MappedItems } from './types.js';

/**
 * One e-mail (RFC 5322, parsed by postal-mime) → one task: the decoded subject as title, the text
 * body (or the HTML converted) as description, sender and date kept, priority from Importance /
 * X-Priority, a due date when the text plainly states one; text/calendar attachments become
 * calendar items as well.
 */

/** The longest stretch of body searched for a due date: deadlines sit near the top. */
const DUE_SEARCH_CHARS = 4_000;
/** A date counts as a due date only after words that make it one ("by Friday", "due: 3 Dec"). */
const DUE_CUE = /\b(?:by|due(?:\s+(?:on|by|date))?|until|till|before|deadline(?:\s+is)?|no later than)\s*:?\s*(?:the\s+|this\s+|on\s+)?$/i;

export function priorityFromHeaders(headers: Email['headers']): Priority {
  const get = (key: string) => headers.find((h) => h.key === key)?.value.trim().toLowerCase();
  const importance = get('importance') ?? get('priority');
  if (importance) {
    if (/^(high|urgent)/.test(importance)) return 'high';
    if (/^(low|non-urgent)/.test(importance)) return 'low';
    if (/^normal/.test(importance)) return 'medium';
  }
  const xPriority = get('x-priority');
  const n = xPriority ? Number.parseInt(xPriority, 10) : Number.NaN;
  if (n === 1 || n === 2) return 'high';
  if (n === 4 || n === 5) return 'low';
  const ms = get('x-msmail-priority');
  if (ms === 'high') return 'high';
  if (ms === 'low') return 'low';
  return 'medium';
}

function formatAddress(address: Address | undefined): string | undefined {
  if (!address) return undefined;
  if ('group' in address && address.group) return address.name || address.group.map((m) => m.address).join(', ');
  const { name, address: email } = address as { name: string; address?: string };
  if (name && email) return `${name} <${email}>`;
  return email || name || undefined;
}

/** The Date header's own offset in minutes ("+0100" → 60): "tomorrow" is the sender's tomorrow. */
function dateHeaderOffset(headers: Email['headers']): number | undefined {
  const raw = headers.find((h) => h.key === 'date')?.value;
  const m = raw ? /([+-])(\d{2})(\d{2})\s*(?:\([^)]*\))?\s*$/.exec(raw) : null;
  if (!m) return undefined;
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
}

/**
 * A due date the text states plainly, read by chrono-node with the mail's Date as the reference
 * (so "next Friday" is counted from when the mail was sent). A time when one is given, else a date.
 */
export function dueFromText(text: string, referenceMs: number, offsetMinutes: number | undefined): string | undefined {
  const reference = { instant: new Date(referenceMs), ...(offsetMinutes !== undefined && { timezone: offsetMinutes }) };
  for (const result of chrono.parse(text.slice(0, DUE_SEARCH_CHARS), reference, { forwardDate: true })) {
    if (!DUE_CUE.test(text.slice(Math.max(0, result.index - 40), result.index))) continue;
    const start = result.start;
    if (start.isCertain('hour')) return start.date().toISOString();
    return dateLabel(start.get('year')!, start.get('month')!, start.get('day')!);
  }
  return undefined;
}

function bodyText(email: Email): string {
  if (email.text && email.text.trim() !== '') return repairC1(email.text);
  return email.html ? htmlToText(repairC1(email.html)) : '';
}

/** Quoted replies and the signature are not the task. */
function cleanBody(text: string): string {
  const lines = tidyText(text).split('\n');
  const signature = lines.findIndex((l) => l === '--' || l === '-- ');
  const kept = (signature >= 0 ? lines.slice(0, signature) : lines).filter((l) => !l.startsWith('>'));
  const replyHeader = kept.findIndex((l) => /^On .{5,200} wrote:$/.test(l));
  return tidyText((replyHeader >= 0 ? kept.slice(0, replyHeader) : kept).join('\n'));
}

function hashId(email: Email, body: string): string {
  const key = [email.from ? formatAddress(email.from) : '', email.date ?? '', email.subject ?? '', body.slice(0, 2_000)].join('\n');
  return `mail-sha256:${createHash('sha256').update(key).digest('base64url')}`;
}

function decodeAttachment(content: ArrayBuffer | Uint8Array | string): string {
  if (typeof content === 'string') return content;
  return new TextDecoder('utf-8').decode(content instanceof Uint8Array ? content : new Uint8Array(content));
}

/** Maps one raw message. `where` names it in reports ("message 3 of inbox.mbox"). */
export async function mapEmail(raw: Uint8Array | string, where: string, opts: MapOptions): Promise<MappedItems> {
  let email: Email;
  try {
    email = await PostalMime.parse(raw, { attachmentEncoding: 'arraybuffer' });
  } catch (err) {
    return { items: [], skipped: [{ item: where, reason: `not a readable e-mail: ${err instanceof Error ? err.message : String(err)}` }] };
  }
  if (email.headers.length === 0 || (!email.from && !email.subject && !email.messageId && !email.date)) {
    return { items: [], skipped: [{ item: where, reason: 'not an e-mail: no From, Subject, Date or Message-ID header' }] };
  }
  const title = clip(tidyText(repairC1(email.subject ?? '')).replace(/\s+/g, ' ') || '(no subject)', TITLE_MAX);
  const body = cleanBody(bodyText(email));
  const sentMs = email.date ? Date.parse(email.date) : Number.NaN;
  const sent = Number.isNaN(sentMs) ? undefined : new Date(sentMs).toISOString();
  const sender = formatAddress(email.from);
  const from = sender === undefined ? undefined : repairC1(sender);
  const messageId = email.messageId?.trim().replace(/^<|>$/g, '');
  const label = `message "${clip(title, 80)}"${messageId ? ` (Message-ID ${messageId})` : ''} in ${where}`;
  const due = dueFromText(`${title}\n${body}`, Number.isNaN(sentMs) ? opts.nowMs : sentMs, dateHeaderOffset(email.headers));
  const items: ImportedTask[] = [
    {
      externalId: messageId ? `mail:${messageId}` : hashId(email, body),
      label,
      title,
      description: clip(body, DESCRIPTION_MAX) || null,
      priority: priorityFromHeaders(email.headers),
      due: due ?? null,
      status: 'open',
      tags: ['email'],
      source: clip(from ? `email from ${from}` : 'email', 200),
      origin: { kind: 'email', from, date: sent, file: opts.file },
    },
  ];
  const out: MappedItems = { items, skipped: [] };
  for (const attachment of email.attachments) {
    const isCalendar = attachment.mimeType.toLowerCase() === 'text/calendar' || /\.ics$/i.test(attachment.filename ?? '');
    if (!isCalendar) continue;
    const name = `attachment ${attachment.filename ?? 'invite.ics'} of ${label}`;
    try {
      const calendar = await mapCalendar(decodeAttachment(attachment.content), opts);
      items.push(...calendar.items);
      out.skipped.push(...calendar.skipped.map((s) => ({ item: `${s.item} in ${name}`, reason: s.reason })));
    } catch (err) {
      out.skipped.push({ item: name, reason: err instanceof Error ? err.message : String(err) });
    }
  }
  return out;
}
