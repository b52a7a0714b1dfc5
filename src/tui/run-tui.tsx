/**
 * Open the console on this terminal: render the App with Ink, run commands
 * through the registry it is given (the CLI passes commands/index.ts) with
 * `actor.face` 'tui', and on quit cancel what still runs, wait for it to
 * record its end, then release the store.
 */
import { render } from 'ink';
import type { Command, CommandContext, CommandResult } from '../../commands/command.js';
import { errorResult, type Invocation } from '../../commands/invoke.js';
import { deliverOutbox } from '../../commands/support/deliver-outbox.js';
import { loadRunbookArg } from '../../commands/support/runbook-arg.js';
import { runContextFor } from '../../commands/support/run-context.js';
import { dump, ExitCode, type EventSink } from '../core/index.js';
import { App, type TuiHost } from './app.js';
import { fleetHosts, withHosts } from './load-hosts.js';
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

export function tuiHost(registry: CommandRegistry, build: ContextBuilder): TuiHost & { outboxIdle(): Promise<void>; closeFleet(): Promise<void> } {
  const idle = new AbortController();
  const quietCtx = build(() => undefined, idle.signal);
  const fleet = fleetHosts({ config: quietCtx.config, env: quietCtx.env, home: quietCtx.home });
  const delivering = new Set<Promise<unknown>>();
  /**
   * After each command, the alert deliveries due to the sinks this process can
   * build, in the background: the screen never waits on a sink, and what is
   * not sent stays pending (`:alerts --deliveries` shows it).
   */
  const deliverInBackground = () => {
    const delivery = deliverOutbox(quietCtx).catch(() => undefined);
    delivering.add(delivery);
    void delivery.finally(() => delivering.delete(delivery));
  };
  /** A shared command by its argv, as this console's user; its errors become results. */
  const invoke = async (argv: string[], emit: EventSink, signal: AbortSignal): Promise<CommandResult> => {
    const [name, ...args] = argv;
    const command = name ? registry.findCommand(name) : undefined;
    if (!command) return { exitCode: ExitCode.usage, summary: `unknown command "${name ?? ''}"` };
    return registry.invokeCommand({ command, argv: args, where: 'tui' }, build(emit, signal)).catch(errorResult);
  };
  return {
    commandNames: registry.commands.map((c) => c.name).filter((n) => !hidden.has(n)),
    async run(argv, emit, signal) {
      try {
        return await invoke(argv, emit, signal);
      } finally {
        deliverInBackground();
      }
    },
    outboxIdle: async () => void (await Promise.allSettled([...delivering])),
    load: fleet.list ? withHosts(snapshotLoader(quietCtx), fleet.list) : snapshotLoader(quietCtx),
    closeFleet: () => fleet.close(),
    now: () => quietCtx.clock.now(),
    browse: {
      // The browser's reads run unaudited commands (ls, find, diff, snapshots); its restores are audited like any.
      run: (argv, signal) => invoke(argv, () => undefined, signal),
      readHead: (runbook, snapshot, path, maxBytes, signal) => readHead(build(() => undefined, signal), { runbook, snapshot, path, maxBytes }),
    },
  };
}

/** The first `maxBytes` of a file in a snapshot, read through `dump` into memory (it stops reading there). */
async function readHead(ctx: CommandContext, at: { runbook: string; snapshot: string; path: string; maxBytes: number }): Promise<{ bytes: Uint8Array; truncated: boolean }> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  const sink = {
    async write(chunk: Uint8Array) {
      const room = at.maxBytes - size;
      chunks.push(chunk.subarray(0, room));
      size += Math.min(room, chunk.length);
      // Stop the dump at the bound: the rest of the file is never read.
      if (chunk.length > room) {
        truncated = true;
        throw new Error('preview is full');
      }
    },
  };
  const runbook = await loadRunbookArg(at.runbook, ctx);
  try {
    await dump({ ...(await runContextFor(runbook, ctx)), snapshot: at.snapshot, path: at.path, sink, force: true });
  } catch (e) {
    if (!truncated) throw e;
  }
  return { bytes: Buffer.concat(chunks), truncated };
}

/** Render the console and resolve with the exit code once it has quit and cleaned up. */
export async function runTui(registry: CommandRegistry, build: ContextBuilder, options: RunTuiOptions = {}): Promise<number> {
  let pending: Promise<unknown>[] = [];
  const host = tuiHost(registry, build);
  const instance = render(<App host={host} pollMs={options.pollMs} onQuit={(p) => (pending = p)} />, {
    exitOnCtrlC: true,
    stdout: options.stdout ?? process.stdout,
    stdin: options.stdin ?? process.stdin,
  });
  try {
    await instance.waitUntilExit();
  } finally {
    // Cancelled runs record their end in the store; give them a moment before the store closes.
    await Promise.race([Promise.allSettled(pending), new Promise((r) => setTimeout(r, 5000).unref())]);
    // Deliveries started after the last commands are bounded by their own budget (a few seconds).
    await host.outboxIdle();
    await host.closeFleet();
    instance.cleanup();
    await options.cleanup?.();
  }
  return ExitCode.ok;
}
