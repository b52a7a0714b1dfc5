/**
 * Engine events into the run view: a run this console started (or any run
 * whose events reach it) is followed stage by stage, with progress, hook
 * output, retries and log lines, all bounded.
 */
import type { EngineEvent, StageName } from '../../core/index.js';
import { HOOK_TAIL_LINES, MAX_RUNS, type LiveRun, type LiveStage, type TuiState } from './types.js';

/** Update one run the console knows; an unknown id leaves the state as it is. */
function updateRun(state: TuiState, id: string, update: (run: LiveRun) => LiveRun): TuiState {
  const i = state.runs.findIndex((r) => r.id === id);
  if (i < 0) return state;
  const runs = state.runs.slice();
  runs[i] = update(runs[i]!);
  return { ...state, runs };
}

function upsertStage(run: LiveRun, name: StageName, update: (s: LiveStage) => LiveStage): LiveRun {
  const i = run.stages.findIndex((s) => s.name === name);
  const stages = run.stages.slice();
  if (i < 0) stages.push(update({ name, status: 'running', counters: {} }));
  else stages[i] = update(stages[i]!);
  return { ...run, stages };
}

export function applyEvent(state: TuiState, e: EngineEvent): TuiState {
  switch (e.type) {
    case 'run.started': {
      const existing = state.runs.find((r) => r.id === e.runId);
      // A poll may have read the run's record before its first event got here (a busy machine): it is still this console's run, followed live.
      const run: LiveRun = existing ? { ...existing, origin: 'here' } : {
        id: e.runId,
        runbook: e.runbook,
        kind: e.kind,
        status: 'running',
        startedAt: e.at,
        origin: 'here',
        stages: [],
        hookTail: [],
        retries: [],
        logs: [],
      };
      // A run this console started takes the screen: that is what the operator asked to watch.
      return {
        ...state,
        runs: [run, ...state.runs.filter((r) => r.id !== e.runId)].slice(0, MAX_RUNS),
        focusedRunId: e.runId,
        screen: state.prompt || state.confirm ? state.screen : 'run',
      };
    }
    case 'stage.started':
      return updateRun(state, e.runId, (r) => upsertStage(r, e.stage, (s) => ({ ...s, status: 'running', startedAt: e.at })));
    case 'stage.progress':
      return updateRun(state, e.runId, (r) => upsertStage(r, e.stage, (s) => ({ ...s, progress: e.progress })));
    case 'stage.finished':
      return updateRun(state, e.runId, (r) => upsertStage(r, e.stage, (s) => ({ ...s, status: e.status, counters: e.counters, error: e.error, endedAt: e.at })));
    case 'run.finished':
      return updateRun(state, e.runId, (r) => ({ ...r, status: e.status, endedAt: e.at }));
    case 'hook.output':
      return updateRun(state, e.runId, (r) => ({ ...r, hookTail: [...r.hookTail, `[${e.hook}] ${e.line}`].slice(-HOOK_TAIL_LINES) }));
    case 'retry': {
      const runId = e.runId ?? state.runs.find((r) => r.status === 'running' && r.origin === 'here')?.id;
      if (!runId) return state;
      return updateRun(state, runId, (r) => ({ ...r, retries: [...r.retries, { operation: e.operation, attempt: e.attempt, delayMs: e.delayMs, error: e.error }].slice(-5) }));
    }
    case 'drill.measured':
      return updateRun(state, e.drill.id, (r) => ({ ...r, drill: e.drill }));
    case 'log':
      if (!e.runId || e.level === 'debug') return state;
      return updateRun(state, e.runId, (r) => ({ ...r, logs: [...r.logs, `${e.level}: ${e.message}`].slice(-5) }));
    case 'alert.raised':
      return { ...state, message: { text: `alert raised: [${e.alert.severity}] ${e.alert.key}: ${e.alert.message}`, tone: e.alert.severity === 'critical' ? 'fail' : 'warn' } };
    case 'alert.resolved':
      return { ...state, message: { text: `alert resolved: ${e.alert.key}`, tone: 'ok' } };
  }
}
