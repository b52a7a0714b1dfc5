/** A command's neutral result as a Slack message: summary, table (monospace), lines. */
import type { CommandResult, Table } from '../../../commands/command.js';
import { ExitCode } from '../../core/index.js';
import { codeBlock, context, escape, section, type Block, type Message } from './types.js';

const ICON: Record<number, string> = {
  [ExitCode.ok]: ':white_check_mark:',
  [ExitCode.failed]: ':x:',
  [ExitCode.usage]: ':warning:',
  [ExitCode.partial]: ':large_orange_diamond:',
  [ExitCode.transferPending]: ':hourglass_flowing_sand:',
  [ExitCode.cancelled]: ':no_entry_sign:',
};

/** The table as aligned text columns, like the CLI prints it. */
export function tableLines(table: Table): string[] {
  const widths = table.columns.map((c) => Math.max(c.header.length, ...table.rows.map((r) => (r[c.key] ?? '').length)));
  const cell = (text: string, i: number) => {
    const col = table.columns[i]!;
    const w = widths[i]!;
    return col.align === 'right' ? text.padStart(w) : text.padEnd(w);
  };
  const line = (cells: string[]) => cells.map(cell).join('  ').trimEnd();
  return [line(table.columns.map((c) => c.header)), ...table.rows.map((r) => line(table.columns.map((c) => r[c.key] ?? '')))];
}

/**
 * `title` names the request (`/backup list`); the exit code picks the icon, so
 * a partial run does not look like a success.
 */
export function commandResultMessage(title: string, result: CommandResult): Message {
  const icon = ICON[result.exitCode] ?? ':grey_question:';
  const summary = result.summary ?? (result.exitCode === ExitCode.ok ? 'done' : `exit ${result.exitCode}`);
  const blocks: Block[] = [section(`${icon} *${escape(title)}* — ${escape(summary)}`)];
  if (result.table && result.table.rows.length > 0) blocks.push(section(codeBlock(tableLines(result.table))));
  if (result.lines && result.lines.length > 0) blocks.push(section(codeBlock(result.lines)));
  if (result.exitCode !== ExitCode.ok) blocks.push(context(`exit ${result.exitCode}`));
  return { text: `${title}: ${summary}`, blocks };
}
