/**
 * The console's reducer: one plain function over engine events, store polls,
 * keys and command results, each concern in its own file beside this one. No
 * React here, so every behaviour (navigation, completion, confirmation,
 * following runs) is tested without rendering. Side effects are requested,
 * not performed: commands to run are queued in `commands` (status 'queued')
 * and `quit` is set; the App carries them out and reports back with actions.
 */
import { commandFinished, commandStarted, commandStartedRun, localCommands } from './commands.js';
import { applyKey } from './keys.js';
import { applyEvent } from './run-events.js';
import { applySnapshot } from './store-poll.js';
import type { TuiAction, TuiState } from './types.js';

export function initialState(options: { commandNames: string[]; columns?: number; rows?: number }): TuiState {
  return {
    screen: 'dashboard',
    help: false,
    selected: 0,
    runs: [],
    history: { cursor: 0, detail: false, filter: 'all' },
    alertCursor: 0,
    promptHistory: [],
    commands: [],
    nextCommandId: 1,
    commandNames: [...options.commandNames, ...localCommands],
    quit: false,
    size: { columns: options.columns ?? 80, rows: options.rows ?? 24 },
  };
}

export function reduce(state: TuiState, action: TuiAction): TuiState {
  switch (action.type) {
    case 'event': {
      const next = applyEvent(state, action.event);
      if (action.event.type !== 'run.started' || action.commandId === undefined) return next;
      return commandStartedRun(next, action.commandId, action.event.runId);
    }
    case 'snapshot':
      return applySnapshot(state, action.snapshot);
    case 'snapshot.failed':
      return { ...state, loadError: action.message };
    case 'key':
      return applyKey(state, action.input, action.key);
    case 'command.started':
      return commandStarted(state, action.id);
    case 'command.finished':
      return commandFinished(state, action);
    case 'resize':
      return { ...state, size: { columns: action.columns, rows: action.rows } };
    case 'browse.closed':
      return { ...state, browse: undefined };
  }
}
