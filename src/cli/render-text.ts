/** Plain-text renderings of neutral command results for a terminal or a pipe. */
import { createRequire } from 'node:module';
import type { CommandResult, Table } from '../../commands/command.js';
import { SEE_ABOVE, type SaidOnce } from './said-once.js';

const GAP = 2;
/** A truncated column keeps at least this much (or its header), so it still says what it holds. */
const MIN_COLUMN = 10;

/**
 * Only text that is not narrow needs string-width's tables. Narrow text: every
 * character is one column wide on its own and joins no neighbour — printable ASCII, Latin-1 (but the soft hyphen) and the Latin
 * extensions, spacing modifiers (combining marks start at U+0300), general
 * punctuation (no zero-width or line separators), arrows, box drawing. No emoji
 * selector can follow (U+FE0F is not in it), so `→` and `×` stay narrow, as
 * string-width counts them. Its width is its length: a diff of 5,000 rows
 * with `1.7 KiB → 5.1 KiB` cells spent ~1.2 s of CPU in string-width.
 * test/cli/render-text.test.ts checks each of these against string-width.
 */
export const narrowText = /^[\x20-\x7e\u00a0-\u00ac\u00ae-\u02ff\u2010-\u2027\u2030-\u205e\u2190-\u21ff\u2500-\u257f]*$/;

/**
 * string-width and a grapheme segmenter, loaded on the first text not narrow:
 * building their Unicode tables and regexes costs ~0.05 s of CPU at load,
 * which every command would pay at start-up for tables that are mostly ASCII
 * (issue 22). A plain require keeps it out of the bundle's start (Node 20.19+
 * requires ES modules synchronously).
 */
const requireLazily = createRequire(import.meta.url);
let unicode: { width: (text: string) => number; segmenter: Intl.Segmenter } | undefined;
const unicodeText = () => (unicode ??= { width: (requireLazily('string-width') as { default: (text: string) => number }).default, segmenter: new Intl.Segmenter() });

/** Columns a terminal gives the text: CJK and most emoji take two, combining marks none. */
export function textWidth(text: string): number {
  return narrowText.test(text) ? text.length : unicodeText().width(text);
}

/** The text cut to at most `width` columns, ending in "…" when cut; never splits a character or an emoji. */
export function cutToWidth(text: string, width: number): string {
  if (textWidth(text) <= width) return text;
  if (narrowText.test(text)) return `${text.slice(0, Math.max(0, width - 1))}…`;
  let kept = '';
  let used = 0;
  for (const { segment } of unicodeText().segmenter.segment(text)) {
    const w = textWidth(segment);
    if (used + w > width - 1) break;
    kept += segment;
    used += w;
  }
  return `${kept}…`;
}

const padTo = (text: string, width: number, align: 'left' | 'right' | undefined): string => {
  const room = ' '.repeat(Math.max(0, width - textWidth(text)));
  return align === 'right' ? room + text : text + room;
};

/**
 * Columns padded to their widest cell, measured in terminal columns
 * (textWidth), so CJK and emoji cells line up. Given a `width` (the
 * terminal's), the widest columns give way first, one column at a time, until
 * the table fits; a cut cell ends in "…". Without one, every cell is printed
 * in full.
 */
export function renderTable(table: Table, width?: number): string {
  const naturals = table.columns.map((c) => Math.max(textWidth(c.header), ...table.rows.map((r) => textWidth(r[c.key] ?? ''))));
  const widths = fitWidths(
    naturals,
    table.columns.map((c, i) => Math.min(Math.max(textWidth(c.header), MIN_COLUMN), naturals[i]!)),
    width,
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => padTo(cutToWidth(cell, widths[i]!), widths[i]!, table.columns[i]!.align))
      .join(' '.repeat(GAP))
      .trimEnd();
  return [line(table.columns.map((c) => c.header)), ...table.rows.map((r) => line(table.columns.map((c) => r[c.key] ?? '')))].join('\n');
}

/** Shrinks the widest column (never below its floor) until the row fits `width`; widths as they are without one. */
export function fitWidths(natural: readonly number[], floors: readonly number[], width: number | undefined): number[] {
  const widths = [...natural];
  if (width === undefined) return widths;
  const total = () => widths.reduce((a, b) => a + b, 0) + GAP * Math.max(0, widths.length - 1);
  while (total() > width) {
    let widest = -1;
    for (let i = 0; i < widths.length; i++) {
      if (widths[i]! > floors[i]! && (widest === -1 || widths[i]! > widths[widest]!)) widest = i;
    }
    if (widest === -1) break; // every column at its floor: wider than the terminal, but readable
    widths[widest]!--;
  }
  return widths;
}

/**
 * The width tables are fitted to: the terminal's on a TTY, else COLUMNS when
 * set; otherwise none — output piped to a file or grep keeps every character,
 * and so does `--wide` (`wide`) on a terminal.
 */
export function outputWidth(stdout: { isTTY?: boolean; columns?: number }, env: Readonly<Record<string, string | undefined>>, wide = false): number | undefined {
  if (wide) return undefined;
  if (stdout.isTTY === true && typeof stdout.columns === 'number' && stdout.columns > 0) return stdout.columns;
  const columns = Number.parseInt(env.COLUMNS ?? '', 10);
  return Number.isInteger(columns) && columns > 0 ? columns : undefined;
}

export interface RenderOptions {
  /** Tables are fitted to this many columns (see outputWidth); unset: full text. */
  width?: number;
  /** What stderr already said in full this run: lines that repeat it point back at it. */
  said?: SaidOnce;
  /** The command's name, for a summary that only repeats an error said above. */
  command?: string;
}

const ENDED: Record<number, string> = { 1: 'failed', 2: 'was refused', 3: 'was partial', 4: 'is transfer-pending', 130: 'was cancelled' };

/** What goes to stdout, and what to stderr (the summary of a failure and its details). */
export function renderResult(result: CommandResult, options: RenderOptions = {}): { stdout: string; stderr: string } {
  const out: string[] = [];
  const err: string[] = [];
  const failed = result.exitCode !== 0;
  const { said } = options;
  for (const line of result.lines ?? []) {
    const shown = failed && said ? said.referOrDrop(line) : line;
    if (shown === undefined) continue;
    (failed ? err : out).push(shown);
    if (failed && shown === line) said?.note(line);
  }
  if (result.table && result.table.rows.length > 0) out.push(renderTable(result.table, options.width));
  if (result.summary && !failed) out.push(result.summary);
  if (result.summary && failed) {
    const summary = said ? said.refer(result.summary) : result.summary;
    err.push(summary === SEE_ABOVE ? `lifeboat: ${options.command ?? 'the command'} ${ENDED[result.exitCode] ?? 'failed'} (exit ${result.exitCode}): see above` : `lifeboat: ${summary}`);
    if (summary === result.summary) said?.note(summary);
  }
  return { stdout: out.length ? out.join('\n') + '\n' : '', stderr: err.length ? err.join('\n') + '\n' : '' };
}
