import type { ImportedTask } from '../taskStore.js';

export const IMPORT_FORMATS = ['ics', 'eml', 'mbox'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

/** An item that did not become a task, and why: every report names each one. */
export interface SkippedItem {
  item: string;
  reason: string;
}

/** What a parser made of its input: tasks to write and items it could not use. */
export interface MappedItems {
  items: ImportedTask[];
  skipped: SkippedItem[];
}

export interface MapOptions {
  /** The import's clock reading: recurring events are due at their next occurrence after it. */
  nowMs: number;
  /** How far ahead a recurring event's next occurrence is looked for. */
  windowDays: number;
  /** The file's name, kept in each task's origin. */
  file?: string | undefined;
}

export const TITLE_MAX = 500;
export const DESCRIPTION_MAX = 10_000;

export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Line endings unified, trailing blanks and runs of empty lines removed. */
export function tidyText(text: string): string {
  return text
    .replace(/\r\n?/g, '\n')
    .replace(/[ \t\u00a0]+$/gm, '')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}
