import { createRequire } from 'node:module';

/**
 * Time-zone names as calendars write them: IANA ("Europe/Berlin"), Windows ("W. Europe Standard
 * Time", what Outlook and Exchange write) and UTC spellings, resolved to one IANA name.
 */

/** True when the runtime's ICU knows this IANA name. */
export function isIanaTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

type WindowsZoneTable = Record<string, { iana?: string[] } | undefined>;

/**
 * CLDR's Windows → IANA table, as node-ical ships it. Loaded on first use (most imports never
 * meet a Windows name); Node's module cache keeps it after that.
 */
function windowsTable(): WindowsZoneTable {
  return createRequire(import.meta.url)('node-ical/windowsZones.json') as WindowsZoneTable;
}

/** "W. Europe Standard Time" → "Europe/Berlin"; undefined for a name Windows does not use. */
export function windowsToIana(name: string): string | undefined {
  const table = windowsTable();
  const exact = table[name]?.iana?.[0];
  if (exact) return exact;
  const wanted = name.replace(/\s+/g, ' ').trim().toLowerCase();
  for (const [label, entry] of Object.entries(table)) {
    if (label.toLowerCase() === wanted) return entry?.iana?.[0];
  }
  return undefined;
}

const UTC_NAMES = new Set(['z', 'utc', 'gmt', 'etc/utc', 'etc/gmt', 'coordinated universal time']);

/** An IANA name for any of the spellings above, or undefined when the name is unknown. */
export function resolveTimeZone(name: string): string | undefined {
  const trimmed = name.replace(/^"(.*)"$/, '$1').trim();
  if (trimmed === '') return undefined;
  if (UTC_NAMES.has(trimmed.toLowerCase())) return 'UTC';
  if (isIanaTimeZone(trimmed)) return trimmed;
  const fromWindows = windowsToIana(trimmed);
  return fromWindows && isIanaTimeZone(fromWindows) ? fromWindows : undefined;
}

/** A zone name (IANA or Windows) to its IANA id, or undefined when it names none. */
export type ZoneResolver = (name: string) => string | undefined;

/**
 * resolveTimeZone with its answers kept, for one calendar's import: a calendar names a few zones
 * thousands of times, and each look-up builds an Intl.DateTimeFormat (~0.1 ms).
 */
export function memoizedZoneResolver(): ZoneResolver {
  const known = new Map<string, string | undefined>();
  return (name) => {
    if (!known.has(name)) known.set(name, resolveTimeZone(name));
    return known.get(name);
  };
}
