/** Plain-text renderings of neutral command results for a terminal or a pipe. */
import type { Command, CommandResult, Table } from '../../commands/command.js';
import { usageLine } from '../../commands/invoke.js';
import type { HostHelp } from './hosts.js';

export function renderTable(table: Table): string {
  const widths = table.columns.map((c) => Math.max(c.header.length, ...table.rows.map((r) => (r[c.key] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (table.columns[i]!.align === 'right' ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(table.columns.map((c) => c.header)), ...table.rows.map((r) => line(table.columns.map((c) => r[c.key] ?? '')))].join('\n');
}

/** What goes to stdout, and what to stderr (the summary of a failure and its details). */
export function renderResult(result: CommandResult): { stdout: string; stderr: string } {
  const out: string[] = [];
  const err: string[] = [];
  const failed = result.exitCode !== 0;
  if (result.lines && result.lines.length > 0) (failed ? err : out).push(...result.lines);
  if (result.table && result.table.rows.length > 0) out.push(renderTable(result.table));
  if (result.summary) (failed ? err : out).push(failed ? `lifeboat: ${result.summary}` : result.summary);
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
