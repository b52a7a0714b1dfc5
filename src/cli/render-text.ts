/** Plain-text renderings of neutral command results for a terminal or a pipe. */
import type { Command, CommandResult, Table } from '../../commands/command.js';
import { usageLine } from '../../commands/invoke.js';
import type { HostHelp } from './hosts.js';
import { SEE_ABOVE, type SaidOnce } from './said-once.js';

const GAP = 2;
/** A truncated column keeps at least this much (or its header), so it still says what it holds. */
const MIN_COLUMN = 10;

/**
 * Columns padded to their widest cell. Given a `width` (the terminal's), the
 * widest columns give way first, one character at a time, until the table
 * fits; a cut cell ends in "…". Without one, every cell is printed in full.
 */
export function renderTable(table: Table, width?: number): string {
  const widths = fitWidths(
    table.columns.map((c) => Math.max(c.header.length, ...table.rows.map((r) => (r[c.key] ?? '').length))),
    table.columns.map((c) => Math.min(Math.max(c.header.length, MIN_COLUMN), Math.max(c.header.length, ...table.rows.map((r) => (r[c.key] ?? '').length)))),
    width,
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => {
        const w = widths[i]!;
        const shown = cell.length > w ? `${cell.slice(0, w - 1)}…` : cell;
        return table.columns[i]!.align === 'right' ? shown.padStart(w) : shown.padEnd(w);
      })
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
 * set; otherwise none — output piped to a file or grep keeps every character.
 */
export function outputWidth(stdout: { isTTY?: boolean; columns?: number }, env: Readonly<Record<string, string | undefined>>): number | undefined {
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

export function renderCommandHelp(command: Command<unknown>): string {
  return renderHelp(usageLine(command), command, { json: true });
}

/** A host's help: its options, and `[options]` in the usage line (a host takes no positionals). */
export function renderHostHelp(host: HostHelp): string {
  return renderHelp(`lifeboat ${host.name}${Object.keys(host.options).length > 0 ? ' [options]' : ''}`, { ...host, positionals: [] }, { json: false });
}

function renderHelp(usage: string, topic: HostHelp & Pick<Command<unknown>, 'positionals'>, flags: { json: boolean }): string {
  const lines = [`Usage: ${usage}`, '', topic.summary + '.'];
  if (topic.description) lines.push('', topic.description);
  if (topic.positionals.length > 0) {
    lines.push('', 'Arguments:');
    for (const p of topic.positionals) lines.push(`  ${p.name.padEnd(14)} ${p.description}${p.required ? '' : ' (optional)'}`);
  }
  lines.push('', 'Options:');
  for (const [name, o] of Object.entries(topic.options)) {
    const flag = `${o.short ? `-${o.short}, ` : ''}--${name}${o.type === 'string' ? ` ${o.valueName ?? 'VALUE'}` : ''}`;
    lines.push(`  ${flag.padEnd(24)} ${o.description}`);
  }
  if (flags.json) lines.push(`  ${'--json'.padEnd(24)} print the result as JSON`);
  lines.push(`  ${'-h, --help'.padEnd(24)} show this help`);
  return lines.join('\n') + '\n';
}

export function renderMainHelp(commands: readonly Command<unknown>[], hosts: readonly HostHelp[]): string {
  const width = Math.max(...[...commands, ...hosts].map((c) => c.name.length));
  return [
    'Lifeboat — backups you can prove you can restore.',
    '',
    'Usage: lifeboat <command> [arguments] [--json]',
    '       lifeboat              the terminal console (on a terminal; otherwise the status table)',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Long-running (they run the commands above themselves):',
    ...hosts.map((h) => `  ${h.name.padEnd(width)}  ${h.summary}`),
    '',
    'A <runbook> is a name from the runbooks folder (./runbooks, or LIFEBOAT_RUNBOOKS) or a path to a YAML file.',
    'State lives in ./.lifeboat (or LIFEBOAT_HOME). `lifeboat <command> --help` explains a command.',
    'Exit codes: 0 ok, 1 failed, 2 bad usage or input, 3 partial, 4 transfer pending, 130 cancelled.',
    '',
  ].join('\n');
}
