/**
 * The console's view state, as the rest of the console uses it. The reducer
 * and its concerns live in ./state/: the state and its actions (types.ts),
 * engine events (run-events.ts), store polls (store-poll.ts), keys
 * (keys.ts, cursor.ts), the prompt (prompt.ts), console commands
 * (commands.ts) and what the components read (selectors.ts).
 */
export { initialState, reduce } from './state/reducer.js';
export { complete, splitArgs } from './state/prompt.js';
export { confirmationFor, localCommands, requestCommand } from './state/commands.js';
export { focusedRun, historyEntries, outputCommand, runningCommands, runningRunOf, selectedRunbook, type HistoryEntry } from './state/selectors.js';
export {
  screens,
  type ConfirmAction,
  type ConsoleCommand,
  type HistoryFilter,
  type KeyInfo,
  type LiveRun,
  type LiveStage,
  type RunbookView,
  type RunSummary,
  type Screen,
  type StoreSnapshot,
  type TuiAction,
  type TuiState,
} from './state/types.js';
