/**
 * The operator vocabulary. Each command is written once — parse arguments,
 * authorize, call the engine, stream events, return a neutral result — and the
 * CLI, the TUI prompt and Slack all go through `invokeCommand` (invoke.ts).
 */
import type { z } from 'zod';
import type { Actor, ByteSink, Clock, EventSink, ExitCode, LifeboatConfig, Redactor, Runbook, Store } from '../src/core/index.js';

export interface OptionSpec {
  type: 'string' | 'boolean';
  /** One letter; `-n` always means --dry-run, so a letter means the same in every command. */
  short?: string;
  description: string;
  /** Shown in help as the value's name, e.g. DIR. */
  valueName?: string;
  multiple?: boolean;
  /** The command needs it: usage shows it without brackets, and parsing refuses its absence. */
  required?: boolean;
  /** With `required`: another (boolean) option that makes this one unnecessary, e.g. restore's --estimate. */
  requiredUnless?: string;
  /**
   * A string option that may also stand alone (`--read-data` = `--read-data 100%`):
   * the next argument is its value only when it looks like one, so
   * `check --read-data app` still reads `app` as the runbook.
   */
  optionalValue?: { whenAlone: string; looksLike: RegExp };
}

export interface PositionalSpec {
  name: string;
  description: string;
  required?: boolean;
  /** Takes all remaining positionals. */
  variadic?: boolean;
}

/** Arguments as parsed from argv, before the command's schema checks them. */
export interface RawArgs {
  positionals: string[];
  options: Record<string, string | boolean | string[] | undefined>;
}

/** Who may run a command: anyone, or those in the runbook's `access.backup` / `access.drill`. */
export type AccessLevel = 'anyone' | 'backup' | 'drill';

export interface CommandContext {
  actor: Actor;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  /** The state folder (LIFEBOAT_HOME, default ./.lifeboat). */
  home: string;
  /** Where runbook names are looked up (LIFEBOAT_RUNBOOKS, default ./runbooks). */
  runbooksDir: string;
  clock: Clock;
  emit: EventSink;
  signal: AbortSignal;
  /** Opened on first use; closed by whoever created the context. */
  store(): Promise<Store>;
  /**
   * Runbooks a long-running face (serve) has already loaded and validated. A
   * name found here is used as is, so an edit on disk that no longer validates
   * cannot replace the last good version mid-service.
   */
  pinnedRunbook?(name: string): Runbook | undefined;
  /**
   * Every runbook such a face has loaded (serve's catalog): invokeCommand
   * learns the secrets to keep in from these instead of reading and
   * validating the whole runbooks folder again for every command (500
   * scheduled fires a minute were 250,000 runbook parses in serve).
   */
  knownRunbooks?(): readonly Runbook[];
  /**
   * The secrets Lifeboat knows, set by invokeCommand (which also redacts this
   * context's events, store writes and the result with it); runs pass it on.
   */
  secrets?: Redactor;
  /** lifeboat.yaml, loaded by the face that made this context; absent: every default. */
  config?: LifeboatConfig;
  /**
   * A byte stream for a command whose result is data (`dump`): the CLI's
   * stdout, when nothing else will be printed there (not with --json). Faces
   * that show results as text (the console, Slack) have none.
   */
  output?: ByteSink;
}

export interface TableColumn {
  key: string;
  header: string;
  align?: 'left' | 'right';
}

export interface Table {
  columns: TableColumn[];
  rows: Record<string, string>[];
}

/** What every command returns; faces decide how to render it. */
export interface CommandResult {
  exitCode: ExitCode;
  /** One line that says what happened. */
  summary?: string;
  table?: Table;
  /** Further lines of plain text (plans, reasons, messages). */
  lines?: string[];
  /** Machine-readable result, printed by `--json`. */
  data?: unknown;
}

export interface Command<A = unknown> {
  name: string;
  summary: string;
  /** Longer help text, shown by `--help`. */
  description?: string;
  options: Record<string, OptionSpec>;
  positionals: PositionalSpec[];
  /** Turns raw arguments into the command's typed arguments; errors become usage errors. */
  schema: z.ZodType<A, RawArgs>;
  access: AccessLevel;
  /** The runbook name among the arguments, when access depends on it. */
  runbookOf?(args: A): string | undefined;
  run(args: A, ctx: CommandContext): Promise<CommandResult>;
  /** False for read-only commands that would flood the audit log (default true). */
  audited?: boolean;
}

/** Helper so each command file gets its argument type inferred from its schema. */
export function defineCommand<A>(command: Command<A>): Command<A> {
  return command;
}
