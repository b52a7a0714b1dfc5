/**
 * A poll of the store into the view state. Runs this console follows by
 * events keep their live detail (the store only has stage boundaries) but
 * take the store's final word once it says they ended; running runs it did
 * not know about — started in another terminal, by Slack or the scheduler —
 * join the run list, and the status line says who started or finished them.
 */
import type { DrillRecord, RunRecord } from '../../core/index.js';
import { HOOK_TAIL_LINES, MAX_RUNS, type LiveRun, type StoreSnapshot, type TuiState } from './types.js';

function runFromRecord(r: RunRecord, previous?: LiveRun): LiveRun {
  return {
    id: r.id,
    runbook: r.runbook,
    kind: r.kind,
    status: r.status,
    startedAt: r.startedAt,
    endedAt: r.endedAt,
    origin: 'store',
    actor: `${r.actor.face}:${r.actor.user}`,
    stages: r.stages.map((s) => ({ name: s.name, status: s.status, counters: s.counters, error: s.error, startedAt: s.startedAt, endedAt: s.endedAt })),
    hookTail: r.hookOutput?.slice(-HOOK_TAIL_LINES) ?? previous?.hookTail ?? [],
    retries: previous?.retries ?? [],
    logs: previous?.logs ?? [],
    error: r.error,
    stats: r.stats,
  };
}

function runFromDrill(d: DrillRecord): LiveRun {
  return {
    id: d.id,
    runbook: d.runbook,
    kind: 'drill',
    // As the drill's own run.finished event says it (src/core/drill/restore-drill.ts): blocked did not succeed.
    status: d.verdict === 'running' ? 'running' : d.verdict === 'failed' || d.verdict === 'blocked' ? 'failed' : 'succeeded',
    startedAt: d.startedAt,
    endedAt: d.endedAt,
    origin: 'store',
    actor: `${d.actor.face}:${d.actor.user}`,
    stages: [],
    hookTail: [],
    retries: [],
    logs: [],
    drill: d,
  };
}

export function applySnapshot(state: TuiState, snapshot: StoreSnapshot): TuiState {
  let runs = state.runs.slice();
  const known = new Map(runs.map((r, i) => [r.id, i]));
  const added: LiveRun[] = [];
  for (const rec of snapshot.runs) {
    const i = known.get(rec.id);
    if (i === undefined) {
      if (rec.status === 'running') added.push(runFromRecord(rec));
      continue;
    }
    const cur = runs[i]!;
    if (cur.origin === 'store') runs[i] = runFromRecord(rec, cur);
    else if (cur.status === 'running' && rec.status !== 'running') runs[i] = { ...cur, status: rec.status, endedAt: rec.endedAt, error: rec.error, stats: rec.stats };
    else if (rec.status !== 'running' && ((!cur.stats && rec.stats) || (!cur.error && rec.error))) runs[i] = { ...cur, stats: cur.stats ?? rec.stats, error: cur.error ?? rec.error };
  }
  for (const d of snapshot.drills) {
    const i = known.get(d.id);
    if (i === undefined) {
      if (d.verdict === 'running') added.push(runFromDrill(d));
      continue;
    }
    const cur = runs[i]!;
    if (cur.origin === 'store') runs[i] = runFromDrill(d);
    else if (!cur.drill && d.verdict !== 'running') runs[i] = { ...cur, drill: d };
  }
  const ended = runs.filter((r, i) => r.origin === 'store' && r.status !== 'running' && state.runs[i]?.status === 'running');
  runs = [...added.sort((a, b) => (a.startedAt < b.startedAt ? 1 : -1)), ...runs].slice(0, MAX_RUNS);
  const message: TuiState['message'] =
    added.length > 0
      ? { text: `${added.map((r) => `${r.kind} ${r.runbook} started by ${r.actor ?? 'another process'}`).join('; ')} — press 2 to watch`, tone: 'muted' }
      : ended.length > 0
        ? {
            text: ended.map((r) => `${r.kind} ${r.runbook} by ${r.actor ?? 'another process'} ${r.status}`).join('; '),
            tone: ended.some((r) => r.status === 'failed') ? 'fail' : ended.some((r) => r.status !== 'succeeded') ? 'warn' : 'ok',
          }
        : state.message;
  const selected = Math.min(state.selected, Math.max(0, snapshot.runbooks.length - 1));
  const alertCursor = Math.min(state.alertCursor, Math.max(0, snapshot.alerts.length - 1));
  return { ...state, snapshot, loadError: undefined, runs, message, selected, alertCursor };
}
