/**
 * argv → RawArgs for a command, on commander, driven by the command's own
 * OptionSpec/PositionalSpec (command.ts): the same specs give usage and help
 * (usageLine here; src/cli/render-text.ts), so what is parsed and what is
 * shown cannot drift. Used by invokeCommand, so the CLI, the console prompt
 * and Slack parse alike: nothing here prints or exits — commander's output is
 * swallowed and its exits turned into LifeboatError USAGE (exit 2, or a
 * Slack reply).
 */
import { Command as Program, CommanderError, Option } from 'commander';
import { didYouMean, LifeboatError } from '../../src/core/index.js';
import type { Command, OptionSpec, PositionalSpec, RawArgs } from '../command.js';

/** The parts of a command argv parsing and usage need (hosts have no schema). */
export type ArgvSpec = Pick<Command<unknown>, 'name' | 'options' | 'positionals'>;

/** ` DIR` after a valued option's name, ` [P%]` when it may stand alone, nothing for a flag. */
const valuePart = (o: OptionSpec): string => (o.type === 'boolean' ? '' : o.optionalValue ? ` [${o.valueName ?? 'VALUE'}]` : ` ${o.valueName ?? 'VALUE'}`);

/** `-t, --target DIR` as help shows an option. */
export function optionFlags(name: string, o: OptionSpec): string {
  return `${o.short ? `-${o.short}, ` : ''}--${name}${valuePart(o)}`;
}

/** `lifeboat restore <runbook> [snapshot] --target DIR [--path P] …`: required options bare, the rest in brackets. */
export function usageLine(command: ArgvSpec): string {
  const pos = command.positionals.map((p) => {
    const name = p.variadic ? `${p.name}…` : p.name;
    return p.required ? `<${name}>` : `[${name}]`;
  });
  const opts = Object.entries(command.options).map(([name, o]) => (o.required ? `--${name}${valuePart(o)}` : `[--${name}${valuePart(o)}]`));
  return ['lifeboat', command.name, ...pos, ...opts].join(' ');
}

/** What help adds after an option's description: whether it is required, repeatable. */
export function optionNotes(o: OptionSpec): string {
  const notes: string[] = [];
  if (o.required) notes.push(o.requiredUnless ? `required unless --${o.requiredUnless}` : 'required');
  if (o.multiple) notes.push('repeatable');
  return notes.length > 0 ? ` (${notes.join('; ')})` : '';
}

/**
 * An option that may stand alone (OptionSpec.optionalValue) gets its value
 * spelled out, `--read-data` → `--read-data=100%`, unless the next argument
 * looks like its value; then commander sees an ordinary valued option.
 */
function spellOutOptionalValues(command: ArgvSpec, argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const spec = arg.startsWith('--') ? command.options[arg.slice(2)] : undefined;
    const next = argv[i + 1];
    if (spec?.optionalValue && (next === undefined || !spec.optionalValue.looksLike.test(next))) {
      out.push(`${arg}=${spec.optionalValue.whenAlone}`);
    } else {
      out.push(arg);
    }
  }
  return out;
}

function programFor(command: ArgvSpec): Program {
  const program = new Program(command.name)
    .exitOverride()
    .configureOutput({ writeOut: () => undefined, writeErr: () => undefined, outputError: () => undefined })
    .helpOption(false)
    .allowExcessArguments(true)
    .showSuggestionAfterError(false);
  for (const [name, o] of Object.entries(command.options)) {
    const flags = `${o.short ? `-${o.short}, ` : ''}--${name}${o.type === 'string' ? ` <${o.valueName ?? 'VALUE'}>` : ''}`;
    const option = new Option(flags, o.description);
    if (o.multiple) option.argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value]);
    program.addOption(option);
  }
  return program;
}

/** The message for commander's error, in our words, with a suggestion where one fits. */
function usageMessage(command: ArgvSpec, e: CommanderError): string {
  const quoted = /'([^']+)'/.exec(e.message)?.[1] ?? '';
  const longs = Object.keys(command.options).map((n) => `--${n}`);
  if (e.code === 'commander.unknownOption') {
    const [flag = quoted, value] = quoted.split(/=(.*)/s);
    const spec = flag.startsWith('--') ? command.options[flag.slice(2)] : undefined;
    if (spec?.type === 'boolean' && value !== undefined) return `${flag} takes no value (got ${quoted})`;
    const known = Object.keys(command.options).length > 0 ? '' : ` (${command.name} takes no options)`;
    return `unknown option ${flag}${flag.startsWith('--') ? didYouMean(flag, longs) : ''}${known}`;
  }
  if (e.code === 'commander.optionMissingArgument') {
    const name = /--([\w-]+)/.exec(quoted)?.[1] ?? quoted;
    const o = command.options[name];
    return `--${name} needs a value${o?.valueName ? ` (${o.valueName})` : ''}`;
  }
  return e.message.replace(/^error: /, '').replace(/\n/g, ' ');
}

/**
 * Parse argv against the command's spec: options by their spec, positionals
 * counted against theirs, required options present. Throws LifeboatError
 * USAGE saying what is wrong, prefixed with the command's name.
 */
export function parseArgv(command: ArgvSpec, argv: readonly string[]): RawArgs {
  const usage = (message: string, withUsage = true): LifeboatError =>
    new LifeboatError('USAGE', `${command.name}: ${message}${withUsage ? ` (usage: ${usageLine(command)})` : ''}`);
  const program = programFor(command);
  try {
    program.parse(spellOutOptionalValues(command, argv), { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) throw usage(usageMessage(command, e), e.code !== 'commander.unknownOption');
    throw e;
  }
  const values = program.opts<Record<string, string | boolean | string[] | undefined>>();
  const options: RawArgs['options'] = {};
  for (const [name, o] of Object.entries(command.options)) {
    const value = values[new Option(`--${name}`).attributeName()];
    // commander reads a boolean `--no-x` as x = false (and x = true when absent); the spec means the flag itself.
    if (o.type === 'boolean' && name.startsWith('no-')) {
      if (value === false) options[name] = true;
    } else if (value !== undefined) {
      options[name] = o.type === 'boolean' ? value === true : value;
    }
  }
  const positionals = [...program.args];
  checkRequiredOptions(command, options, usage);
  checkPositionals(command.positionals, positionals, usage);
  return { positionals, options };
}

function checkRequiredOptions(command: ArgvSpec, options: RawArgs['options'], usage: (m: string) => LifeboatError): void {
  for (const [name, o] of Object.entries(command.options)) {
    if (!o.required || options[name] !== undefined) continue;
    if (o.requiredUnless !== undefined && options[o.requiredUnless] !== undefined) continue;
    throw usage(`--${name} ${o.valueName ?? 'VALUE'} is required${o.requiredUnless ? ` (unless --${o.requiredUnless})` : ''}`);
  }
}

function checkPositionals(specs: readonly PositionalSpec[], positionals: readonly string[], usage: (m: string) => LifeboatError): void {
  const required = specs.filter((p) => p.required);
  if (positionals.length < required.length) throw usage(`missing <${required[positionals.length]?.name}>`);
  const variadic = specs.some((p) => p.variadic);
  if (!variadic && positionals.length > specs.length) {
    throw usage(`unexpected argument "${positionals[specs.length]}"`);
  }
}
