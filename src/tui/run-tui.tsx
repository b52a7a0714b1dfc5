/**
 * Open the console on this terminal: render the App with Ink, run commands
 * through the shared invoker with `actor.face` 'tui', and on quit cancel what
 * still runs, wait for it to record its end, then release the store.
 */
import { render } from 'ink';
import { commands, findCommand, invokeCommand } from '../../commands/index.js';
import type { CommandContext } from '../../commands/command.js';
import { errorResult } from '../../commands/invoke.js';
import { ExitCode } from '../core/errors.js';
import type { EventSink } from '../core/events.js';
import { App, type TuiHost } from './app.js';
import { loadSnapshot } from './load-snapshot.js';

/** Builds a command context whose events go to `emit` and which `signal` cancels. */
export type ContextBuilder = (emit: EventSink, signal: AbortSignal) => CommandContext;

export interface RunTuiOptions {
  pollMs?: number;
  /** Called once the console has closed (e.g. to close the store). */
  cleanup?: () => Promise<void>;
  stdout?: NodeJS.WriteStream;
  stdin?: NodeJS.ReadStream;
}

/** Commands the console does not offer at its prompt: `start` re-opens what is already open; `serve` is a daemon that would write over the screen. */
const hidden = new Set(['start', 'serve']);

export function tuiHost(build: ContextBuilder): TuiHost {
  const idle = new AbortController();
  const quietCtx = build(() => undefined, idle.signal);
  return {
    commandNames: commands.map((c) => c.name).filter((n) => !hidden.has(n)),
    async run(argv, emit, signal) {
      const [name, ...args] = argv;
      const command = name ? findCommand(name) : undefined;
      if (!command) return { exitCode: ExitCode.usage, summary: `unknown command "${name ?? ''}"` };
      try {
        return await invokeCommand({ command, argv: args, where: 'tui' }, build(emit, signal));
      } catch (e) {
        return errorResult(e);
      }
    },
    load: () => loadSnapshot(quietCtx),
    now: () => quietCtx.clock.now(),
  };
}

/** Render the console and resolve with the exit code once it has quit and cleaned up. */
export async function runTui(build: ContextBuilder, options: RunTuiOptions = {}): Promise<number> {
  let pending: Promise<unknown>[] = [];
  const instance = render(<App host={tuiHost(build)} pollMs={options.pollMs} onQuit={(p) => (pending = p)} />, {
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
