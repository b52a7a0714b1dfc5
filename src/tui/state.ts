/**
 * The console's view state: one plain reducer over engine events, store
 * snapshots, keys, prompt editing and command results. No React here, so every
 * behaviour (navigation, completion, confirmation, following runs) is tested
 * without rendering. Side effects are requested, not performed: commands to
 * run are queued in `commands` (status 'queued') and `quit` is set; the App
 * carries them out and reports back with actions.
 */
import type { RunSummary } from '../../commands/status.js';
import type { Table } from '../../commands/command.js';
import type { RtoStatus } from '../../commands/status.js';
import type { EngineEvent, ProgressCounters } from '../core/events.js';
import type { AlertRecord, DrillRecord, ErrorInfo, RunRecord, RunStatus, StageName, StageStatus } from '../core/store/index.js';

/** One runbook's row on the dashboard, as loaded from the status command and the runbook's schedule. */
export interface RunbookView {
  name: string;
  valid: boolean;
  description?: string;
  lastRun?: RunSummary;
  lastSuccess?: RunSummary;
  ageMs?: number;
  rpoMs?: number;
  /** 'ok' | 'STALE' | 'no backup' | '—' (from the status command). */
  rpoState: string;
  lastDrill?: DrillRecord;
  rtoTargetMs?: number;
  /** Oldest first. */
  rtoTrendMs: number[];
  openAlerts: { key: string; severity: string; message: string }[];
  /** ISO times of the next scheduled backup and drill. */
  nextBackup?: string;
  nextDrill?: string;
  /** The repository's size after the last successful backup (its packs), when known. */
  lastStoredBytes?: number;
  /** Runbooks with a cold tier: its RTO (measured or estimated) or why there is none. */
  cold?: { storageClass: string; rto?: RtoStatus; reason?: string };
}

export type { RunSummary };

/** What one poll of the store returns. */
export interface StoreSnapshot {
  loadedAt: string;
  runbooks: RunbookView[];
  /** Newest first. */
  runs: RunRecord[];
  drills: DrillRecord[];
  /** Open alerts of every runbook. */
  alerts: AlertRecord[];
}

export interface LiveStage {
  name: StageName;
  status: StageStatus;
  progress?: ProgressCounters;
  counters: Record<string, number>;
  error?: ErrorInfo;
  startedAt?: string;
  endedAt?: string;
}

/** A run as the run view shows it, fed by events (ours) or by the store (started elsewhere). */
export interface LiveRun {
  id: string;
  runbook: string;
  kind: string;
  status: RunStatus;
  startedAt: string;
  endedAt?: string;
  /** 'here': started from this console, live events; 'store': seen in the store, stage-level updates each poll. */
  origin: 'here' | 'store';
  actor?: string;
  stages: LiveStage[];
  hookTail: string[];
  retries: { operation: string; attempt: number; delayMs: number; error: string }[];
  logs: string[];
  drill?: DrillRecord;
  error?: ErrorInfo;
  stats?: Record<string, number>;
}

/** 'output' shows the last result of a command that started no run (e.g. :snapshots demo); it is not a tab. */
export type Screen = 'dashboard' | 'run' | 'history' | 'alerts' | 'output';
export const screens: readonly Screen[] = ['dashboard', 'run', 'history', 'alerts'];

export type HistoryFilter = 'all' | 'backups' | 'drills';

export interface ConsoleCommand {
  id: number;
  argv: string[];
  status: 'queued' | 'running' | 'done';
  /** The run it started, once its run.started event arrived. */
  runId?: string;
  exitCode?: number;
  summary?: string;
  lines?: string[];
  table?: Table;
}

export type ConfirmAction = { type: 'run'; argv: string[] } | { type: 'quit' };

export interface TuiState {
  screen: Screen;
  help: boolean;
  snapshot?: StoreSnapshot;
  loadError?: string;
  /** Index of the selected runbook (dashboard, history). */
  selected: number;
  /** Newest first, bounded. */
  runs: LiveRun[];
  /** The run the run view shows; newest when unset. */
  focusedRunId?: string;
  history: { cursor: number; detail: boolean; filter: HistoryFilter };
  alertCursor: number;
  prompt?: { text: string; completions: string[] };
  promptHistory: string[];
  promptHistoryIndex?: number;
  confirm?: { question: string; action: ConfirmAction };
  commands: ConsoleCommand[];
  nextCommandId: number;
  /** The command whose result the output screen shows. */
  outputCommandId?: number;
  message?: { text: string; tone: 'ok' | 'warn' | 'fail' | 'muted' };
  /** Names the prompt completes as the first word. */
  commandNames: string[];
  quit: boolean;
  size: { columns: number; rows: number };
}

/** The keys the reducer understands: a subset of Ink's Key. */
export interface KeyInfo {
  upArrow?: boolean;
  downArrow?: boolean;
  leftArrow?: boolean;
  rightArrow?: boolean;
  pageUp?: boolean;
  pageDown?: boolean;
  return?: boolean;
  escape?: boolean;
  tab?: boolean;
  shift?: boolean;
  backspace?: boolean;
  delete?: boolean;
  ctrl?: boolean;
  meta?: boolean;
}

export type TuiAction =
  /** `commandId`: the console command whose run emitted it (absent for events from nowhere in particular). */
  | { type: 'event'; event: EngineEvent; commandId?: number }
  | { type: 'snapshot'; snapshot: StoreSnapshot }
  | { type: 'snapshot.failed'; message: string }
  | { type: 'key'; input: string; key: KeyInfo }
  | { type: 'command.started'; id: number }
  | { type: 'command.finished'; id: number; exitCode: number; summary?: string; lines?: string[]; table?: Table }
  | { type: 'resize'; columns: number; rows: number };

/** Commands the console runs itself rather than through the registry. */
export const localCommands = ['quit', 'help', 'dashboard', 'runs', 'history', 'alerts'] as const;

const maxRuns = 20;
const hookTailLines = 8;

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
      const runId = action.event.runId;
      return { ...next, commands: next.commands.map((c) => (c.id === action.commandId && !c.runId ? { ...c, runId } : c)) };
    }
    case 'snapshot':
      return applySnapshot(state, action.snapshot);
    case 'snapshot.failed':
      return { ...state, loadError: action.message };
    case 'key':
      return applyKey(state, action.input, action.key);
    case 'command.started':
      return { ...state, commands: state.commands.map((c) => (c.id === action.id ? { ...c, status: 'running' } : c)) };
    case 'command.finished': {
      const cmd = state.commands.find((c) => c.id === action.id);
      const commands = state.commands
        .map((c) => (c.id === action.id ? { ...c, status: 'done' as const, exitCode: action.exitCode, summary: action.summary, lines: action.lines, table: action.table } : c))
        .slice(-20);
      const name = cmd?.argv.join(' ') ?? 'command';
      const tone = action.exitCode === 0 ? 'ok' : action.exitCode === 3 ? 'warn' : 'fail';
      const message = { text: `${name}: ${action.summary ?? (action.exitCode === 0 ? 'done' : `exit ${action.exitCode}`)}`, tone } as const;
      // A command that started no run (snapshots, runbooks, a usage error…) shows its full result; a run's result is in the run view.
      const showOutput = !cmd?.runId && ((action.lines?.length ?? 0) > 0 || (action.table?.rows.length ?? 0) > 0) && !state.prompt && !state.confirm;
      return { ...state, commands, message, ...(showOutput ? { screen: 'output' as const, outputCommandId: action.id } : {}) };
    }
    case 'resize':
      return { ...state, size: { columns: action.columns, rows: action.rows } };
  }
}

// ---------------------------------------------------------------- selectors

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

// ---------------------------------------------------------------- events

function upsertRun(state: TuiState, id: string, update: (run: LiveRun) => LiveRun): TuiState {
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

function applyEvent(state: TuiState, e: EngineEvent): TuiState {
  switch (e.type) {
    case 'run.started': {
      const existing = state.runs.find((r) => r.id === e.runId);
      const run: LiveRun = existing ?? {
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
        runs: [run, ...state.runs.filter((r) => r.id !== e.runId)].slice(0, maxRuns),
        focusedRunId: e.runId,
        screen: state.prompt || state.confirm ? state.screen : 'run',
      };
    }
    case 'stage.started':
      return upsertRun(state, e.runId, (r) => upsertStage(r, e.stage, (s) => ({ ...s, status: 'running', startedAt: e.at })));
    case 'stage.progress':
      return upsertRun(state, e.runId, (r) => upsertStage(r, e.stage, (s) => ({ ...s, progress: e.progress })));
    case 'stage.finished':
      return upsertRun(state, e.runId, (r) => upsertStage(r, e.stage, (s) => ({ ...s, status: e.status, counters: e.counters, error: e.error, endedAt: e.at })));
    case 'run.finished':
      return upsertRun(state, e.runId, (r) => ({ ...r, status: e.status, endedAt: e.at }));
    case 'hook.output':
      return upsertRun(state, e.runId, (r) => ({ ...r, hookTail: [...r.hookTail, `[${e.hook}] ${e.line}`].slice(-hookTailLines) }));
    case 'retry': {
      const runId = e.runId ?? state.runs.find((r) => r.status === 'running' && r.origin === 'here')?.id;
      if (!runId) return state;
      return upsertRun(state, runId, (r) => ({ ...r, retries: [...r.retries, { operation: e.operation, attempt: e.attempt, delayMs: e.delayMs, error: e.error }].slice(-5) }));
    }
    case 'drill.measured':
      return upsertRun(state, e.drill.id, (r) => ({ ...r, drill: e.drill }));
    case 'log':
      if (!e.runId || e.level === 'debug') return state;
      return upsertRun(state, e.runId, (r) => ({ ...r, logs: [...r.logs, `${e.level}: ${e.message}`].slice(-5) }));
    case 'alert.raised':
      return { ...state, message: { text: `alert raised: [${e.alert.severity}] ${e.alert.key}: ${e.alert.message}`, tone: e.alert.severity === 'critical' ? 'fail' : 'warn' } };
    case 'alert.resolved':
      return { ...state, message: { text: `alert resolved: ${e.alert.key}`, tone: 'ok' } };
  }
}

// ---------------------------------------------------------------- store snapshots

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
    hookTail: r.hookOutput?.slice(-hookTailLines) ?? previous?.hookTail ?? [],
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
    status: d.verdict === 'running' ? 'running' : d.verdict === 'failed' ? 'failed' : 'succeeded',
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

/**
 * Merge a poll of the store. Runs this console follows by events keep their
 * live detail (the store only has stage boundaries) but take the store's final
 * word once it says they ended; running runs it did not know about — started
 * in another terminal, by Slack or the scheduler — join the run list.
 */
function applySnapshot(state: TuiState, snapshot: StoreSnapshot): TuiState {
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
  runs = [...added.sort((a, b) => (a.startedAt < b.startedAt ? 1 : -1)), ...runs].slice(0, maxRuns);
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

// ---------------------------------------------------------------- keys

/** Split a prompt line into argv: whitespace-separated, with '…' and "…" quoting. */
export function splitArgs(line: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (const m of line.matchAll(re)) out.push(m[1] ?? m[2] ?? m[3] ?? '');
  return out;
}

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

/** Complete the prompt text: the first word against command names, later words against runbook names. */
export function complete(text: string, commandNames: readonly string[], runbookNames: readonly string[]): { text: string; completions: string[] } {
  const words = text.split(/\s+/);
  const atNewWord = /\s$/.test(text) || text === '';
  const current = atNewWord ? '' : (words[words.length - 1] ?? '');
  const isFirst = words.filter((w) => w !== '').length <= (atNewWord ? 0 : 1);
  const pool = isFirst ? commandNames : current.startsWith('-') ? [] : runbookNames;
  const matches = [...new Set(pool.filter((n) => n.startsWith(current)))].sort();
  if (matches.length === 0) return { text, completions: [] };
  const base = text.slice(0, text.length - current.length);
  if (matches.length === 1) return { text: `${base}${matches[0]} `, completions: [] };
  const prefix = commonPrefix(matches);
  return { text: `${base}${prefix}`, completions: matches };
}

function commonPrefix(words: string[]): string {
  let p = words[0] ?? '';
  for (const w of words) while (!w.startsWith(p)) p = p.slice(0, -1);
  return p;
}

function enqueue(state: TuiState, argv: string[]): TuiState {
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
    case 'dashboard':
      return { ...state, screen: 'dashboard' };
    case 'runs':
      return { ...state, screen: 'run' };
    case 'history':
      return { ...state, screen: 'history' };
    case 'alerts':
      return { ...state, screen: 'alerts' };
  }
  if (!state.commandNames.includes(name)) return { ...state, message: { text: `unknown command "${name}" — Tab completes, ? lists keys`, tone: 'fail' } };
  const question = confirmationFor(argv);
  if (question) return { ...state, confirm: { question, action: { type: 'run', argv } } };
  return enqueue(state, argv);
}

function requestQuit(state: TuiState): TuiState {
  const busy = runningCommands(state);
  if (busy.length === 0) return { ...state, quit: true };
  return { ...state, confirm: { question: `${busy.map((c) => c.argv.join(' ')).join(', ')} still running. Quit and cancel it?`, action: { type: 'quit' } } };
}

function clamp(n: number, max: number): number {
  return Math.max(0, Math.min(n, Math.max(0, max)));
}

function moveCursor(state: TuiState, delta: number): TuiState {
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
      return state;
    case 'run': {
      const i = state.runs.findIndex((r) => r.id === focusedRun(state)?.id);
      const next = state.runs[clamp(i + delta, state.runs.length - 1)];
      return next ? { ...state, focusedRunId: next.id } : state;
    }
  }
}

function applyPromptKey(state: TuiState, input: string, key: KeyInfo): TuiState {
  const prompt = state.prompt!;
  if (key.escape) return { ...state, prompt: undefined, promptHistoryIndex: undefined };
  if (key.return) {
    const line = prompt.text.trim();
    const next = { ...state, prompt: undefined, promptHistoryIndex: undefined, promptHistory: line ? [...state.promptHistory.filter((l) => l !== line), line].slice(-50) : state.promptHistory };
    return line ? requestCommand(next, splitArgs(line)) : next;
  }
  if (key.tab) {
    const runbooks = state.snapshot?.runbooks.map((r) => r.name) ?? [];
    return { ...state, prompt: complete(prompt.text, state.commandNames, runbooks) };
  }
  if (key.backspace || key.delete) {
    if (prompt.text === '') return { ...state, prompt: undefined };
    return { ...state, prompt: { text: prompt.text.slice(0, -1), completions: [] } };
  }
  if (key.upArrow || key.downArrow) {
    const h = state.promptHistory;
    if (h.length === 0) return state;
    const cur = state.promptHistoryIndex ?? h.length;
    const idx = clamp(cur + (key.upArrow ? -1 : 1), h.length);
    return { ...state, promptHistoryIndex: idx, prompt: { text: h[idx] ?? '', completions: [] } };
  }
  if (key.ctrl && input === 'u') return { ...state, prompt: { text: '', completions: [] } };
  if (key.ctrl || key.meta || input === '') return state;
  // Pasted text arrives as one input; keep printable characters only.
  const printable = [...input].filter((ch) => ch >= ' ' && ch !== '\x7f').join('');
  return { ...state, prompt: { text: prompt.text + printable, completions: [] } };
}

/** One character of a multi-character input as Ink would have reported it alone. */
function charKey(ch: string): [string, KeyInfo] {
  switch (ch) {
    case '\r':
    case '\n':
      return ['', { return: true }];
    case '\t':
      return ['', { tab: true }];
    case '\x7f':
    case '\b':
      return ['', { backspace: true }];
    case '\x1b':
      return ['', { escape: true }];
    default:
      return [ch, {}];
  }
}

function applyKey(state: TuiState, input: string, key: KeyInfo): TuiState {
  // Typed-ahead or pasted keys arrive as one input (":backup demo"): take them one by one,
  // so ':' opens the prompt and the rest lands in it.
  if (input.length > 1 && !key.ctrl && !key.meta) {
    return [...input].reduce((s, ch) => applyKey(s, ...charKey(ch)), state);
  }
  if (state.confirm) {
    if (input === 'y' || input === 'Y') {
      const { action } = state.confirm;
      const cleared = { ...state, confirm: undefined };
      return action.type === 'quit' ? { ...cleared, quit: true } : enqueue(cleared, action.argv);
    }
    if (input === 'n' || input === 'N' || key.escape) return { ...state, confirm: undefined, message: { text: 'cancelled', tone: 'muted' } };
    return state;
  }
  if (state.prompt) return applyPromptKey(state, input, key);
  if (state.help) {
    if (input === 'q') return requestQuit(state);
    if (key.escape || input === '?' || key.return) return { ...state, help: false };
    return state;
  }
  if (key.upArrow || input === 'k') return moveCursor(state, -1);
  if (key.downArrow || input === 'j') return moveCursor(state, 1);
  if (key.pageUp) return moveCursor(state, -10);
  if (key.pageDown) return moveCursor(state, 10);
  if (key.tab) {
    const i = Math.max(0, screens.indexOf(state.screen));
    const next = screens[(i + (key.shift ? screens.length - 1 : 1)) % screens.length]!;
    return { ...state, screen: next };
  }
  if (key.escape) {
    if (state.screen === 'history' && state.history.detail) return { ...state, history: { ...state.history, detail: false } };
    return { ...state, screen: 'dashboard', message: undefined };
  }
  if (key.return) {
    if (state.screen === 'dashboard') return { ...state, screen: 'history', history: { ...state.history, detail: false } };
    if (state.screen === 'history') return { ...state, history: { ...state.history, detail: !state.history.detail } };
    return state;
  }
  const rb = selectedRunbook(state);
  switch (input) {
    case 'q':
      return requestQuit(state);
    case '?':
      return { ...state, help: true };
    case ':':
      return { ...state, prompt: { text: '', completions: [] }, promptHistoryIndex: undefined };
    case '1':
      return { ...state, screen: 'dashboard' };
    case '2':
      return { ...state, screen: 'run' };
    case '3':
      return { ...state, screen: 'history' };
    case '4':
      return { ...state, screen: 'alerts' };
    case 'b':
      return rb ? requestCommand(state, ['backup', rb.name]) : state;
    case 'D':
      return rb ? requestCommand(state, ['restore-drill', rb.name]) : state;
    case 'c':
      return rb ? requestCommand(state, ['check', rb.name]) : state;
    case 'a': {
      if (state.screen !== 'alerts') return state;
      const alert = state.snapshot?.alerts[state.alertCursor];
      return alert ? requestCommand(state, ['ack', alert.key]) : { ...state, message: { text: 'no open alert to acknowledge', tone: 'muted' } };
    }
    case 'f': {
      if (state.screen !== 'history') return state;
      const order: HistoryFilter[] = ['all', 'backups', 'drills'];
      const filter = order[(order.indexOf(state.history.filter) + 1) % order.length]!;
      return { ...state, history: { cursor: 0, detail: false, filter } };
    }
    default:
      return state;
  }
}
