/**
 * The headless face: `lifeboat <command> [args]`. Parses global flags, builds
 * the command context from the process, runs the command through the shared
 * invoker, renders the neutral result, exits with the shared exit code.
 *
 * It also launches the hosts (hosts.ts): the console, `serve` and `agent`, long-running
 * processes that are not commands but receive the command registry.
 */
import * as registry from '../../commands/index.js';
import type { CommandContext, CommandResult } from '../../commands/command.js';
import { errorResult } from '../../commands/invoke.js';
import { parseArgv } from '../../commands/support/argv.js';
import { deliverOutbox, outboxWarning } from '../../commands/support/deliver-outbox.js';
import { clockFromEnv, COMMAND_STORE_CONNECTIONS, currentUser, didYouMean, ExitCode, LifeboatError, loadConfig, openConfiguredStore, resolvePlaces, type ByteSink, type Store } from '../core/index.js';
import { findHost, hosts } from './hosts.js';
import { completionHelp, completionScript, shells, type Shell } from './completion.js';
import { globalFlags, helpRequest, type HelpRequest } from './help-request.js';
import { renderCommandHelp, renderMainHelp, renderTopicHelp, VERSION } from './help-text.js';
import { shellTopics } from './help-texts.js';
import { progressRenderer, type ProgressRenderer } from './progress-renderer.js';
import { outputWidth, renderResult } from './render-text.js';

const { commands, findCommand, invokeCommand } = registry;
const localUser = (): string => currentUser(process.env.USER ?? 'unknown');

export async function main(given: string[]): Promise<number> {
  // `--config PATH` is global, like --json: taken out before the command sees its arguments.
  const taken = takeConfigFlag(given);
  if (typeof taken === 'string') {
    process.stderr.write(`lifeboat: ${taken}\n`);
    return ExitCode.usage;
  }
  const { configPath, argv } = taken;
  const json = argv.includes('--json');
  const quiet = argv.includes('--quiet') || argv.includes('-q');
  const wide = argv.includes('--wide');
  const rest = argv.filter((a) => !globalFlags.has(a));
  const [name, ...args] = rest;

  // No command: the console on a terminal; headless, the status table (and exit 0).
  if (name === undefined) {
    if (onTerminal()) return openConsole(configPath);
    return main(['status', ...given]);
  }
  const help = helpRequest(rest);
  if (help) return printHelp(help);
  if (name === 'completion') return printCompletion(args);
  const host = findHost(name);
  if (host) {
    // A host's arguments are checked against its spec here, as a command's are (serve parses them again, serve-args.ts).
    const refused = usageRefusal(() => parseArgv({ ...host, positionals: [] }, args));
    if (refused !== undefined) return refused;
  }
  if (name === 'tui') {
    if (!onTerminal()) {
      process.stderr.write('lifeboat: lifeboat tui needs a terminal; without one, `lifeboat status` prints the table\n');
      return ExitCode.usage;
    }
    return openConsole(configPath);
  }
  if (name === 'serve') {
    // serve stops taking work and gives running jobs its shutdown deadline before it ends.
    // serve's alerts are written as they are raised, not held for a result at the end.
    const progress = progressRenderer(process.stderr, quiet || json);
    // serve brings a PostgreSQL store's schema up to date at start (under the advisory lock); commands only check it.
    const result = await runInProcess({ json, quiet, interrupt: 'stopping', configPath, progress, migrateStore: true, storeConnections: SERVE_STORE_CONNECTIONS }, async (ctx) => {
      const { runServeHost } = await import('../serve/serve-host.js');
      return runServeHost(args, registry, ctx);
    });
    return printResult(result, { json, wide }, progress, name);
  }
  if (name === 'agent') {
    // Like serve: SIGTERM stops taking jobs, the one in hand gets the shutdown deadline; the store's schema is serve's to migrate.
    const progress = progressRenderer(process.stderr, quiet || json);
    const result = await runInProcess({ json, quiet, interrupt: 'stopping', configPath, progress }, async (ctx) => {
      const { runAgentHost } = await import('../agent/agent-host.js');
      return runAgentHost(args, registry, ctx);
    });
    return printResult(result, { json, wide }, progress, name);
  }
  const command = findCommand(name);
  if (!command) return unknownCommand(name);
  // A command's alerts come after its result, and point at the error it printed (said-once.ts).
  const progress = progressRenderer(process.stderr, quiet || json, { deferAlerts: true });
  // `npm start` on a terminal: once the demo is prepared, open the console instead of printing the table.
  const opensConsole = (r: CommandResult) => command.name === 'start' && !json && onTerminal() && r.exitCode === ExitCode.ok;
  let exitCode: number | undefined;
  const result = await runInProcess(
    {
      json,
      quiet,
      interrupt: 'cancelling',
      configPath,
      progress,
      // dump's bytes: stdout is theirs unless --json prints the result there.
      ...(json ? {} : { output: stdoutSink() }),
      // The result first, then the alerts it raised (and any others due) to the sinks this process can build.
      afterWork: async (ctx, r) => {
        if (opensConsole(r)) return;
        exitCode = printResult(r, { json, wide }, progress, command.name);
        await deliverAfterCommand(ctx, quiet);
      },
    },
    (ctx) => invokeCommand({ command, argv: args, where: process.stdin.isTTY ? 'tty' : 'pipe' }, ctx),
  );
  if (opensConsole(result)) {
    process.stdout.write(renderResult({ ...result, table: undefined }).stdout);
    progress.flushAlerts();
    return openConsole(configPath);
  }
  return exitCode ?? printResult(result, { json, wide }, progress, command.name);
}

/**
 * Deliveries due to the sinks this process can build, best effort within
 * END_OF_COMMAND_BUDGET_MS: what is left stays pending for serve or the next
 * command. Never changes the exit code; one warning line when some did not go.
 */
async function deliverAfterCommand(ctx: CommandContext, quiet: boolean): Promise<void> {
  let warning: string | undefined;
  try {
    warning = outboxWarning(await deliverOutbox(ctx));
  } catch (e) {
    warning = `alert deliveries not attempted: ${(e as Error).message}`;
  }
  if (warning !== undefined && !quiet) process.stderr.write(`lifeboat: ${warning}\n`);
}

interface ProcessRun {
  json: boolean;
  quiet: boolean;
  /** What the first Ctrl-C does, as told to the person who pressed it. */
  interrupt: 'cancelling' | 'stopping';
  /** `--config PATH`: lifeboat.yaml named on the command line. */
  configPath: string | undefined;
  /** Renders the run's events on stderr. */
  progress: ProgressRenderer;
  /** Apply pending store migrations when the store is opened (serve). */
  migrateStore?: boolean;
  /** The most PostgreSQL connections (default COMMAND_STORE_CONNECTIONS; serve answers many at once). */
  storeConnections?: number;
  /** The command's byte stream (CommandContext.output). */
  output?: ByteSink;
  /** Runs once `work` has a result (even an error's), before the store closes. */
  afterWork?(ctx: CommandContext, result: CommandResult): Promise<void>;
}

/**
 * Runs `work` with a context built from this process (its environment, clock,
 * working folder, state folder and store), Ctrl-C and SIGTERM as the stop
 * signal, events rendered on stderr. Its errors become results.
 */
/** serve answers Slack, /metrics, /healthz and the scheduler at once: pg's own default. */
const SERVE_STORE_CONNECTIONS = 10;

async function runInProcess(options: ProcessRun, work: (ctx: CommandContext) => Promise<CommandResult>): Promise<CommandResult> {
  const env = process.env;
  let clock;
  try {
    clock = clockFromEnv(env);
  } catch (e) {
    return { exitCode: ExitCode.usage, summary: (e as Error).message };
  }
  const { progress } = options;
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts > 1) process.exit(ExitCode.cancelled); // a second Ctrl-C means now
    process.stderr.write(`\nlifeboat: ${options.interrupt} (Ctrl-C again to quit at once)…\n`);
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);

  let config;
  try {
    config = await loadConfig({ explicit: options.configPath, env, cwd: process.cwd() });
  } catch (e) {
    return errorResult(e);
  }
  let store: Store | undefined;
  const { home, runbooksDir } = resolvePlaces({ config, env, cwd: process.cwd() });
  const ctx: CommandContext = {
    actor: { face: 'cli', user: localUser() },
    env,
    cwd: process.cwd(),
    home,
    runbooksDir,
    clock,
    emit: progress.sink,
    signal: controller.signal,
    // onWarning: a PostgreSQL store's outage (records spooled, then replayed) is told on stderr like a run's warnings.
    store: async () =>
      (store ??= await openConfiguredStore({
        config,
        env,
        home,
        migrate: options.migrateStore === true,
        maxConnections: options.storeConnections ?? COMMAND_STORE_CONNECTIONS,
        onWarning: (message) => progress.sink({ type: 'log', level: 'warn', message }),
      })),
    config,
    ...(options.output ? { output: options.output } : {}),
  };
  let result: CommandResult;
  try {
    try {
      result = await work(ctx);
    } catch (e) {
      result = errorResult(e);
    }
    progress.done();
    await options.afterWork?.(ctx, result);
  } finally {
    progress.done();
    await store?.close().catch(() => undefined);
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
  return result;
}

/**
 * The result on stdout and stderr (or as one JSON object with --json), then the
 * alerts the command raised; returns its exit code. Tables fit the terminal
 * (render-text.ts outputWidth); piped or with --wide, they keep every character.
 */
function printResult(result: CommandResult, { json, wide }: { json: boolean; wide: boolean }, progress: ProgressRenderer, command: string): number {
  if (json) {
    process.stdout.write(JSON.stringify({ exitCode: result.exitCode, summary: result.summary, lines: result.lines ?? [], data: result.data ?? null }, null, 2) + '\n');
  } else {
    const text = renderResult(result, { width: outputWidth(process.stdout, process.env, wide), said: progress.said, command });
    process.stdout.write(text.stdout);
    process.stderr.write(text.stderr);
  }
  progress.flushAlerts();
  return result.exitCode;
}

/**
 * stdout as a byte sink: each write resolves once taken (so a slow pipe slows
 * the dump, not memory). A reader that stops early (`| head`) closes the pipe:
 * the dump stops there, cancelled with one line, instead of writing on
 * into nothing (closed-output.ts keeps the EPIPE itself from crashing).
 */
function stdoutSink(): ByteSink {
  let closed: Error | undefined;
  let listening = false;
  const stopped = (e: Error) =>
    (e as NodeJS.ErrnoException).code === 'EPIPE' ? new LifeboatError('CANCELLED', 'stdout was closed by its reader: the dump stopped there') : e;
  return {
    isTTY: process.stdout.isTTY === true,
    write: (chunk) => {
      if (!listening) {
        listening = true;
        process.stdout.on('error', (e) => (closed ??= e));
      }
      if (closed !== undefined) return Promise.reject(stopped(closed));
      return new Promise<void>((resolve, reject) => void process.stdout.write(chunk, (e) => (e ? reject(stopped((closed ??= e))) : resolve())));
    },
  };
}

/** The Ink console over the same commands and store, as the local user with face 'tui'. */
async function openConsole(configPath: string | undefined): Promise<number> {
  // React and Ink read NODE_ENV when they load: development mode is several times slower.
  process.env.NODE_ENV ??= 'production';
  // Ink renders only the last frame when it sees CI variables (read when it loads). A
  // person asked for the live console on a terminal; a CI=true leaking from a parent
  // shell or runner must not leave them a blank screen.
  delete process.env.CI;
  delete process.env.CONTINUOUS_INTEGRATION;
  const { runTui } = await import('../tui/run-tui.js');
  const env = process.env;
  let config;
  try {
    config = await loadConfig({ explicit: configPath, env, cwd: process.cwd() });
  } catch (e) {
    process.stderr.write(`lifeboat: ${(e as Error).message}\n`);
    return ExitCode.usage;
  }
  const { home, runbooksDir } = resolvePlaces({ config, env, cwd: process.cwd() });
  let store: Promise<Store> | undefined;
  const user = localUser();
  return runTui(
    registry,
    (emit, signal) => ({
      actor: { face: 'tui', user },
      env,
      cwd: process.cwd(),
      home,
      runbooksDir,
      clock: clockFromEnv(env),
      emit,
      signal,
      store: () => (store ??= openConfiguredStore({ config, env, home, maxConnections: COMMAND_STORE_CONNECTIONS })),
      config,
    }),
    { cleanup: async () => void (await (await store)?.close().catch(() => undefined)) },
  );
}

/** `--config PATH` or `--config=PATH` taken out of the arguments; a message when it has no path. */
function takeConfigFlag(argv: readonly string[]): { configPath: string | undefined; argv: string[] } | string {
  const rest: string[] = [];
  let configPath: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--config' || arg.startsWith('--config=')) {
      const value = arg === '--config' ? argv[++i] : arg.slice('--config='.length);
      if (value === undefined || value === '' || value.startsWith('-')) return '--config needs the path of a lifeboat.yaml (e.g. --config /etc/lifeboat/lifeboat.yaml)';
      configPath = value;
    } else {
      rest.push(arg);
    }
  }
  return { configPath, argv: rest };
}

/** Both ends on a terminal: Ink reads keys from stdin and draws on stdout. */
function onTerminal(): boolean {
  return process.stdin.isTTY === true && process.stdout.isTTY === true;
}

/** Help or the version on stdout (exit 0); help for an unknown topic is an unknown command (exit 2). */
function printHelp(request: HelpRequest): number {
  if (request.kind === 'version') {
    process.stdout.write(`lifeboat ${VERSION}\n`);
    return ExitCode.ok;
  }
  if (request.kind === 'main' || request.name === 'help') {
    process.stdout.write(renderMainHelp(commands, hosts, shellTopics));
    return ExitCode.ok;
  }
  const command = findCommand(request.name);
  const topic = findHost(request.name) ?? shellTopics.find((t) => t.name === request.name);
  if (command === undefined && topic === undefined) return unknownCommand(request.name);
  process.stdout.write(command ? renderCommandHelp(command) : renderTopicHelp(topic!));
  return ExitCode.ok;
}

/** Every name the CLI answers to, for "did you mean". */
const knownNames = (): string[] => [...commands.map((c) => c.name), ...hosts.map((h) => h.name), ...shellTopics.map((t) => t.name), 'help'];

function unknownCommand(name: string): number {
  if (name.startsWith('-')) {
    // A flag where the command goes: only the global options may come first.
    const globals = ['--json', '--quiet', '--config', '--wide', '--help', '--version'];
    process.stderr.write(`lifeboat: unknown option ${name}${didYouMean(name, globals)}; before the command only ${globals.join(', ')} (see \`lifeboat --help\`)\n`);
    return ExitCode.usage;
  }
  process.stderr.write(`lifeboat: unknown command "${name}"${didYouMean(name, knownNames())}; \`lifeboat --help\` lists the commands\n`);
  return ExitCode.usage;
}

/** Runs a parse that throws a usage error; its message on stderr and exit 2, or undefined when it passed. */
function usageRefusal(parse: () => unknown): number | undefined {
  try {
    parse();
    return undefined;
  } catch (e) {
    process.stderr.write(`lifeboat: ${(e as Error).message}\n`);
    return ExitCode.usage;
  }
}

/** `lifeboat completion bash|zsh|fish`: the script on stdout, for every command and host. */
function printCompletion(args: string[]): number {
  const shell = args[0];
  const refused = usageRefusal(() => {
    parseArgv({ name: 'completion', options: {}, positionals: completionHelp.positionals ?? [] }, args);
    if (!shells.includes(shell as Shell)) throw new LifeboatError('USAGE', `completion: no completion for "${shell}"${didYouMean(shell ?? '', shells)}; choose bash, zsh or fish`);
  });
  if (refused !== undefined) return refused;
  process.stdout.write(completionScript(shell as Shell, [...commands, ...hosts]));
  return ExitCode.ok;
}
