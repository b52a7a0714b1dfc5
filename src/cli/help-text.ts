/**
 * Help, rendered from the same specs parsing uses (OptionSpec/PositionalSpec,
 * commands/support/argv.ts), so help cannot say what parsing does not do. The
 * build also renders every help text into dist/help.json (help-texts.ts), which
 * bin/lifeboat.js answers from without loading the CLI.
 */
import type { Command, OptionSpec, PositionalSpec } from '../../commands/command.js';
import { optionFlags, optionNotes, usageLine } from '../../commands/support/argv.js';
import { LIFEBOAT_VERSION } from '../core/index.js';

export const VERSION = LIFEBOAT_VERSION;

/** Something help explains that is not a command: a host (tui, serve) or a shell helper (completion). */
export interface HelpTopic {
  name: string;
  summary: string;
  description?: string;
  options: Record<string, OptionSpec>;
  positionals?: PositionalSpec[];
}

/** Options main.ts takes out of argv before a command sees it; every command (and host) accepts them. */
export const globalOptions: readonly { flags: string; description: string }[] = [
  { flags: '--json', description: 'print the result as one JSON object on stdout (no progress)' },
  { flags: '-q, --quiet', description: 'no progress lines on stderr; the result, errors and alerts still print' },
  { flags: '--config PATH', description: 'the lifeboat.yaml to use (default: LIFEBOAT_CONFIG, ./lifeboat.yaml, /etc/lifeboat/lifeboat.yaml)' },
  { flags: '--wide', description: 'print tables in full, every cell whole, instead of fitting them to the terminal' },
  { flags: '-h, --help', description: 'show help (`lifeboat help <command>` too)' },
  { flags: '-V, --version', description: 'print the version' },
];

/** A long option without a short one is indented to line up with the long ones after `-x, `. */
const flagColumn = (flags: string): string => (flags.startsWith('--') ? `    ${flags}` : flags);

function optionLines(rows: readonly { flags: string; description: string }[], width: number): string[] {
  return rows.map((r) => `  ${flagColumn(r.flags).padEnd(width)}  ${r.description}`);
}

function renderHelp(topic: HelpTopic & { positionals: PositionalSpec[] }): string {
  const lines = [`Usage: ${usageLine(topic)}`, '', topic.summary + '.'];
  if (topic.description) lines.push('', topic.description);
  if (topic.positionals.length > 0) {
    lines.push('', 'Arguments:');
    for (const p of topic.positionals) lines.push(`  ${p.name.padEnd(14)} ${p.description}${p.required ? '' : ' (optional)'}`);
  }
  const own = Object.entries(topic.options).map(([name, o]) => ({ flags: optionFlags(name, o), description: o.description + optionNotes(o) }));
  const width = Math.max(22, ...[...own, ...globalOptions].map((r) => flagColumn(r.flags).length));
  if (own.length > 0) lines.push('', 'Options:', ...optionLines(own, width));
  lines.push('', 'Global options:', ...optionLines(globalOptions, width));
  return lines.join('\n') + '\n';
}

export function renderCommandHelp(command: Command<unknown>): string {
  return renderHelp(command);
}

export function renderTopicHelp(topic: HelpTopic): string {
  return renderHelp({ ...topic, positionals: topic.positionals ?? [] });
}

export function renderMainHelp(commands: readonly Command<unknown>[], hosts: readonly HelpTopic[], shell: readonly HelpTopic[]): string {
  const width = Math.max(...[...commands, ...hosts, ...shell].map((c) => c.name.length));
  const list = (topics: readonly { name: string; summary: string }[]) => topics.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    'Lifeboat — backups you can prove you can restore.',
    '',
    'Usage: lifeboat <command> [arguments] [options]',
    '       lifeboat              the terminal console (on a terminal; otherwise the status table)',
    '',
    'Commands:',
    ...list(commands),
    '',
    'Long-running (they run the commands above themselves):',
    ...list(hosts),
    '',
    'For the shell:',
    ...list(shell),
    '',
    'Global options (with any command):',
    ...optionLines(globalOptions, Math.max(...globalOptions.map((r) => flagColumn(r.flags).length))),
    '',
    'A <runbook> is a name from the runbooks folder (./runbooks, LIFEBOAT_RUNBOOKS or lifeboat.yaml\'s runbooks:) or a path to a YAML file.',
    'State lives in ./.lifeboat (or LIFEBOAT_HOME, or lifeboat.yaml\'s home:). `lifeboat help <command>` or `lifeboat <command> --help` explains a command.',
    'Exit codes: 0 ok, 1 failed, 2 bad usage or input, 3 partial, 4 transfer pending, 130 cancelled.',
    '',
  ].join('\n');
}
