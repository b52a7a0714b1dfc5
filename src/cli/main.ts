/**
 * The headless face: `lifeboat <command> [args]`. Parses global flags, builds
 * the command context from the process, runs the command through the shared
 * invoker, renders the neutral result, exits with the shared exit code.
 */
import { resolve } from 'node:path';
import { commands, findCommand, invokeCommand } from '../../commands/index.js';
import type { CommandContext } from '../../commands/command.js';
import { errorResult } from '../../commands/invoke.js';
import { clockFromEnv } from '../core/clock.js';
import { ExitCode } from '../core/errors.js';
import { currentUser } from '../core/process-info.js';
import { openJsonStore, type Store } from '../core/store/index.js';
import { progressRenderer } from './progress-renderer.js';
import { renderCommandHelp, renderMainHelp, renderResult } from './render-text.js';

const localUser = (): string => currentUser(process.env.USER ?? 'unknown');

export async function main(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  const quiet = argv.includes('--quiet') || argv.includes('-q');
  const rest = argv.filter((a) => a !== '--json' && a !== '--quiet' && a !== '-q');
  const [name, ...args] = rest;

  // No command: the console on a terminal; headless, the status table (and exit 0).
  if (name === undefined || name === 'tui') {
    if (process.stdout.isTTY || name === 'tui') return openConsole();
    return main(['status', ...argv]);
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' && args[0] ? findCommand(args[0]) : undefined;
    process.stdout.write(topic ? renderCommandHelp(topic) : renderMainHelp(commands));
    return ExitCode.ok;
  }
  if (name === '--version' || name === '-V') {
    process.stdout.write('lifeboat 0.1.0\n');
    return ExitCode.ok;
  }
  const command = findCommand(name);
  if (!command) {
    process.stderr.write(`lifeboat: unknown command "${name}"; try \`lifeboat --help\`\n`);
    return ExitCode.usage;
  }
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(renderCommandHelp(command));
    return ExitCode.ok;
  }

  const env = process.env;
  let clock;
  try {
    clock = clockFromEnv(env);
  } catch (e) {
    process.stderr.write(`lifeboat: ${(e as Error).message}\n`);
    return ExitCode.usage;
  }
  const progress = progressRenderer(process.stderr, quiet || json);
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts > 1) process.exit(ExitCode.cancelled); // a second Ctrl-C means now
    // serve stops taking work and gives running jobs its shutdown deadline; everything else cancels now.
    const doing = command.name === 'serve' ? 'stopping' : 'cancelling';
    process.stderr.write(`\nlifeboat: ${doing} (Ctrl-C again to quit at once)…\n`);
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);

  let store: Store | undefined;
  const home = resolve(env.LIFEBOAT_HOME ?? '.lifeboat');
  const ctx: CommandContext = {
    actor: { face: 'cli', user: localUser() },
    env,
    cwd: process.cwd(),
    home,
    runbooksDir: env.LIFEBOAT_RUNBOOKS ?? 'runbooks',
    clock,
    emit: progress.sink,
    signal: controller.signal,
    store: async () => (store ??= await openJsonStore(home)),
  };
  let result;
  try {
    result = await invokeCommand({ command, argv: args, where: process.stdin.isTTY ? 'tty' : 'pipe' }, ctx);
  } catch (e) {
    result = errorResult(e);
  } finally {
    progress.done();
    await store?.close().catch(() => undefined);
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
  // `npm start` on a terminal: once the demo is prepared, open the console instead of printing the table.
  if (command.name === 'start' && !json && process.stdout.isTTY && result.exitCode === ExitCode.ok) {
    process.stdout.write(renderResult({ ...result, table: undefined }).stdout);
    return openConsole();
  }
  if (json) {
    process.stdout.write(JSON.stringify({ exitCode: result.exitCode, summary: result.summary, lines: result.lines ?? [], data: result.data ?? null }, null, 2) + '\n');
  } else {
    const text = renderResult(result);
    process.stdout.write(text.stdout);
    process.stderr.write(text.stderr);
  }
  return result.exitCode;
}

/** The Ink console over the same commands and store, as the local user with face 'tui'. */
async function openConsole(): Promise<number> {
  // React and Ink read NODE_ENV when they load: development mode is several times slower.
  process.env.NODE_ENV ??= 'production';
  // Ink renders only the last frame when it sees CI variables (read when it loads). A
  // person asked for the live console on a terminal; a CI=true leaking from a parent
  // shell or runner must not leave them a blank screen.
  delete process.env.CI;
  delete process.env.CONTINUOUS_INTEGRATION;
  const { runTui } = await import('../tui/run-tui.js');
  const env = process.env;
  const home = resolve(env.LIFEBOAT_HOME ?? '.lifeboat');
  let store: Promise<Store> | undefined;
  const user = localUser();
  return runTui(
    (emit, signal) => ({
      actor: { face: 'tui', user },
      env,
      cwd: process.cwd(),
      home,
      runbooksDir: env.LIFEBOAT_RUNBOOKS ?? 'runbooks',
      clock: clockFromEnv(env),
      emit,
      signal,
      store: () => (store ??= openJsonStore(home)),
    }),
    { cleanup: async () => void (await (await store)?.close().catch(() => undefined)) },
  );
}
