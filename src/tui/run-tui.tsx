/**
 * Open the console on this terminal: render the App with Ink, run commands
 * through the registry it is given (the CLI passes commands/index.ts) with
 * `actor.face` 'tui', and on quit cancel what still runs, wait for it to
 * record its end, then release the store.
 */
import { render } from 'ink';
import type { Command, CommandContext, CommandResult } from '../../commands/command.js';
import { errorResult, type Invocation } from '../../commands/invoke.js';
import { ExitCode, type EventSink } from '../core/index.js';
import { App, type TuiHost } from './app.js';
import { snapshotLoader } from './load-snapshot.js';

/** Builds a command context whose events go to `emit` and which `signal` cancels. */
export type ContextBuilder = (emit: EventSink, signal: AbortSignal) => CommandContext;

/** The commands the console offers at its prompt, handed in by whoever opened it. */
export interface CommandRegistry {
  commands: readonly Command<unknown>[];
  findCommand(name: string): Command<unknown> | undefined;
  invokeCommand(inv: Invocation, ctx: CommandContext): Promise<CommandResult>;
}

export interface RunTuiOptions {
  pollMs?: number;
  /** Called once the console has closed (e.g. to close the store). */
  cleanup?: () => Promise<void>;
  stdout?: NodeJS.WriteStream;
  stdin?: NodeJS.ReadStream;
}

/** Commands the console does not offer at its prompt: `start` re-opens what is already open. */
const hidden = new Set(['start']);

export function tuiHost(registry: CommandRegistry, build: ContextBuilder): TuiHost {
  const idle = new AbortController();
  const quietCtx = build(() => undefined, idle.signal);
  return {
    commandNames: registry.commands.map((c) => c.name).filter((n) => !hidden.has(n)),
    async run(argv, emit, signal) {
      const [name, ...args] = argv;
      const command = name ? registry.findCommand(name) : undefined;
      if (!command) return { exitCode: ExitCode.usage, summary: `unknown command "${name ?? ''}"` };
      try {
        return await registry.invokeCommand({ command, argv: args, where: 'tui' }, build(emit, signal));
      } catch (e) {
        return errorResult(e);
      }
    },
    load: snapshotLoader(quietCtx),
    now: () => quietCtx.clock.now(),
  };
}

/** Render the console and resolve with the exit code once it has quit and cleaned up. */
export async function runTui(registry: CommandRegistry, build: ContextBuilder, options: RunTuiOptions = {}): Promise<number> {
  let pending: Promise<unknown>[] = [];
  const instance = render(<App host={tuiHost(registry, build)} pollMs={options.pollMs} onQuit={(p) => (pending = p)} />, {
    exitOnCtrlC: true,
    stdout: options.stdout ?? process.stdout,
    stdin: options.stdin ?? process.stdin,
  });
  try {
    await instance.waitUntilExit();
  } finally {
    // Cancelled runs record their end in the store; give them a moment before the store closes.
    await Promise.race([Promise.allSettled(pending), new Promise((r) => setTimeout(r, 5000).unref())]);
    instance.cleanup();
    await options.cleanup?.();
  }
  return ExitCode.ok;
}
