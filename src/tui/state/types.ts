/**
 * The console's view state and the actions that change it. Plain data: the
 * reducer (./reducer.ts) is tested without React, and the components render
 * what is here.
 */
import type { Table } from '../../../commands/command.js';
import type { RtoStatus, RunSummary } from '../../../commands/status.js';
import type { AlertRecord, DrillBrief, DrillRecord, EngineEvent, ErrorInfo, HostView, ProgressCounters, RunRecord, RunStatus, StageName, StageStatus } from '../../core/index.js';

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
  lastDrill?: DrillBrief;
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
  /** The fleet host whose agent runs it (runbook `host:`); absent: whichever host starts it. */
  host?: string;
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
  /** The fleet's hosts (issue 19), with a PostgreSQL store; absent with the JSON store, which has no agents. */
  hosts?: HostView[];
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
/** `output` and `hosts` are not numbered tabs: shown when asked for (a command's output, H). */
export type Screen = 'dashboard' | 'run' | 'history' | 'alerts' | 'output' | 'hosts';
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
  /** The runbook whose snapshots the browser shows, while it is open (it takes the keys). */
  browse?: string;
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
  | { type: 'resize'; columns: number; rows: number }
  | { type: 'browse.closed' };

/** How many runs the run view keeps (newest first). */
export const MAX_RUNS = 20;
/** Hook output lines a run keeps for the run view. */
export const HOOK_TAIL_LINES = 8;
