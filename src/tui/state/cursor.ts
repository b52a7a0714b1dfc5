/** Moving the selection of the screen on show: runbooks, history entries, alerts, runs. */
import { focusedRun, historyEntries } from './selectors.js';
import type { TuiState } from './types.js';

/** `n` within 0..max (0 when max is negative: an empty list). */
export function clamp(n: number, max: number): number {
  return Math.max(0, Math.min(n, Math.max(0, max)));
}

export function moveCursor(state: TuiState, delta: number): TuiState {
  switch (state.screen) {
    case 'dashboard': {
      const selected = clamp(state.selected + delta, (state.snapshot?.runbooks.length ?? 1) - 1);
      return selected === state.selected ? state : { ...state, selected, history: { ...state.history, cursor: 0, detail: false } };
    }
    case 'history':
      return { ...state, history: { ...state.history, cursor: clamp(state.history.cursor + delta, historyEntries(state).length - 1) } };
    case 'alerts':
      return { ...state, alertCursor: clamp(state.alertCursor + delta, (state.snapshot?.alerts.length ?? 1) - 1) };
    case 'output':
    case 'hosts':
      return state;
    case 'run': {
      const i = state.runs.findIndex((r) => r.id === focusedRun(state)?.id);
      const next = state.runs[clamp(i + delta, state.runs.length - 1)];
      return next ? { ...state, focusedRunId: next.id } : state;
    }
  }
}
