/** What the components read from the view state: derived, never stored twice. */
import type { DrillRecord, RunRecord } from '../../core/index.js';
import type { ConsoleCommand, LiveRun, RunbookView, TuiState } from './types.js';

export function selectedRunbook(state: TuiState): RunbookView | undefined {
  return state.snapshot?.runbooks[state.selected];
}

export function focusedRun(state: TuiState): LiveRun | undefined {
  return state.runs.find((r) => r.id === state.focusedRunId) ?? state.runs[0];
}

/** The runbook's live run, if one is going (for the dashboard). */
export function runningRunOf(state: TuiState, runbook: string): LiveRun | undefined {
  return state.runs.find((r) => r.runbook === runbook && r.status === 'running');
}

export type HistoryEntry = { kind: 'run'; at: string; run: RunRecord } | { kind: 'drill'; at: string; drill: DrillRecord };

/** Runs and drills of the selected runbook, newest first, filtered. */
export function historyEntries(state: TuiState): HistoryEntry[] {
  const rb = selectedRunbook(state);
  if (!rb || !state.snapshot) return [];
  const { filter } = state.history;
  const runs: HistoryEntry[] =
    filter === 'drills' ? [] : state.snapshot.runs.filter((r) => r.runbook === rb.name && (filter === 'all' || r.kind === 'backup')).map((run) => ({ kind: 'run', at: run.startedAt, run }));
  const drills: HistoryEntry[] = filter === 'backups' ? [] : state.snapshot.drills.filter((d) => d.runbook === rb.name).map((drill) => ({ kind: 'drill', at: drill.startedAt, drill }));
  return [...runs, ...drills].sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
}

export function outputCommand(state: TuiState): ConsoleCommand | undefined {
  return state.commands.find((c) => c.id === state.outputCommandId);
}

export function runningCommands(state: TuiState): ConsoleCommand[] {
  return state.commands.filter((c) => c.status !== 'done');
}
