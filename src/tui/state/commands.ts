/**
 * Commands from the console: local ones (screens, help, quit) act at once;
 * the shared ones are queued for the App to run (after a confirmation when
 * they change or delete something), and their results come back as actions.
 */
import { runningCommands } from './selectors.js';
import type { ConsoleCommand, Screen, TuiState } from './types.js';

/** Prompt commands that switch the screen. */
const SCREEN_COMMANDS: ReadonlyMap<string, Screen> = new Map([
  ['dashboard', 'dashboard'],
  ['runs', 'run'],
  ['history', 'history'],
  ['alerts', 'alerts'],
]);

/** Commands the console runs itself rather than through the registry. */
export const localCommands: readonly string[] = ['quit', 'help', 'browse', ...SCREEN_COMMANDS.keys()];

/** Finished commands the console remembers (their output screens). */
const KEPT_COMMANDS = 20;

/** The question to ask before running argv, or undefined when it needs no confirmation. */
export function confirmationFor(argv: string[]): string | undefined {
  const [name, ...rest] = argv;
  const runbook = rest.find((a) => !a.startsWith('-')) ?? '?';
  switch (name) {
    case 'restore-drill':
      return `Run a restore drill of ${runbook}? It restores a snapshot into scratch space, validates it and measures the RTO (reads the whole snapshot).`;
    case 'restore': {
      const i = rest.findIndex((a) => a === '--target' || a === '-t' || a.startsWith('--target='));
      const target = i < 0 ? '?' : rest[i]!.startsWith('--target=') ? rest[i]!.slice(9) : (rest[i + 1] ?? '?');
      return `Restore ${runbook} onto ${target}? Existing files there may be overwritten.`;
    }
    case 'forget':
      if (rest.includes('--dry-run') || rest.includes('-n')) return undefined;
      return rest.includes('--no-prune')
        ? `Forget snapshots of ${runbook} by its retention policy?`
        : `Forget snapshots of ${runbook} by its retention policy and prune their data? This deletes data from the repository.`;
    default:
      return undefined;
  }
}

export function enqueue(state: TuiState, argv: string[]): TuiState {
  const cmd: ConsoleCommand = { id: state.nextCommandId, argv, status: 'queued' };
  return { ...state, commands: [...state.commands, cmd], nextCommandId: state.nextCommandId + 1, message: { text: `running ${argv.join(' ')}…`, tone: 'muted' } };
}

/** Run argv from the prompt or a key: local commands act at once, others are queued (after a confirmation when they need one). */
export function requestCommand(state: TuiState, argv: string[]): TuiState {
  const [name] = argv;
  if (!name) return state;
  switch (name) {
    case 'quit':
    case 'q':
      return requestQuit(state);
    case 'help':
      return { ...state, help: true };
    case 'browse':
      return openBrowser(state, argv[1]);
  }
  const screen = SCREEN_COMMANDS.get(name);
  if (screen) return { ...state, screen };
  if (!state.commandNames.includes(name)) return { ...state, message: { text: `unknown command "${name}" — Tab completes, ? lists keys`, tone: 'fail' } };
  const question = confirmationFor(argv);
  if (question) return { ...state, confirm: { question, action: { type: 'run', argv } } };
  return enqueue(state, argv);
}

/** Opens the snapshot browser on `runbook` (a name the dashboard knows). */
export function openBrowser(state: TuiState, runbook: string | undefined): TuiState {
  if (!runbook) return { ...state, message: { text: 'browse which runbook? (browse <runbook>, or s on the dashboard)', tone: 'muted' } };
  const known = state.snapshot?.runbooks.some((r) => r.name === runbook) ?? true;
  if (!known) return { ...state, message: { text: `no runbook named "${runbook}"`, tone: 'fail' } };
  return { ...state, browse: runbook, message: undefined };
}

/** Quit at once, or ask first when commands are still running (quitting cancels them). */
export function requestQuit(state: TuiState): TuiState {
  const busy = runningCommands(state);
  if (busy.length === 0) return { ...state, quit: true };
  return { ...state, confirm: { question: `${busy.map((c) => c.argv.join(' ')).join(', ')} still running. Quit and cancel it?`, action: { type: 'quit' } } };
}

/** The App started a queued command. */
export function commandStarted(state: TuiState, id: number): TuiState {
  return { ...state, commands: state.commands.map((c) => (c.id === id ? { ...c, status: 'running' } : c)) };
}

/** A command ended: its result is kept, the status line says how it went, and a result that is not a run's takes the output screen. */
export function commandFinished(state: TuiState, done: { id: number; exitCode: number; summary?: string; lines?: string[]; table?: ConsoleCommand['table'] }): TuiState {
  const cmd = state.commands.find((c) => c.id === done.id);
  const commands = state.commands
    .map((c) => (c.id === done.id ? { ...c, status: 'done' as const, exitCode: done.exitCode, summary: done.summary, lines: done.lines, table: done.table } : c))
    .slice(-KEPT_COMMANDS);
  const name = cmd?.argv.join(' ') ?? 'command';
  const tone = done.exitCode === 0 ? 'ok' : done.exitCode === 3 ? 'warn' : 'fail';
  const message = { text: `${name}: ${done.summary ?? (done.exitCode === 0 ? 'done' : `exit ${done.exitCode}`)}`, tone } as const;
  // A command that started no run (snapshots, runbooks, a usage error…) shows its full result; a run's result is in the run view.
  const showOutput = !cmd?.runId && ((done.lines?.length ?? 0) > 0 || (done.table?.rows.length ?? 0) > 0) && !state.prompt && !state.confirm;
  return { ...state, commands, message, ...(showOutput ? { screen: 'output' as const, outputCommandId: done.id } : {}) };
}

/** A run.started event from a command's run ties the run to the command. */
export function commandStartedRun(state: TuiState, commandId: number, runId: string): TuiState {
  return { ...state, commands: state.commands.map((c) => (c.id === commandId && !c.runId ? { ...c, runId } : c)) };
}
