/**
 * The snapshot browser's state and keys, as a plain reducer (tested without
 * React): a runbook's snapshots, then folders of one snapshot, a preview of a
 * text file, `find` across snapshots, the diff of two snapshots, and restoring
 * marked paths into a folder after a dry run and a yes.
 *
 * Like the console's reducer it performs nothing: what to load is put in
 * `pending` (with an id), the component (Browser.tsx) carries it out and
 * answers with `loaded` or `failed` for that id; an answer to an older
 * request (the user moved on) is dropped.
 */
import type { BrowseEntry, DiffChange, FindMatch } from '../../core/index.js';
import type { KeyInfo } from '../state/types.js';

export const restorePolicies = ['never', 'if-newer', 'if-changed', 'always'] as const;
export type RestorePolicy = (typeof restorePolicies)[number];

export interface SnapshotRow {
  id: string;
  time: string;
  files: number;
  bytes: number;
}

export interface RestorePlan {
  /** One line per path: what the dry run said. */
  summaries: string[];
  /** What would be replaced, skipped, deleted (the first lines of each dry run). */
  lines: string[];
}

export type BrowserRequest =
  | { kind: 'snapshots' }
  | { kind: 'list'; snapshot: string; path: string }
  | { kind: 'preview'; snapshot: string; path: string }
  | { kind: 'find'; pattern: string }
  | { kind: 'diff'; from: string; to: string }
  | { kind: 'restore'; snapshot: string; paths: string[]; target: string; policy: RestorePolicy; dryRun: boolean };

export type BrowserResult =
  | { kind: 'snapshots'; snapshots: SnapshotRow[] }
  | { kind: 'list'; entries: BrowseEntry[] }
  | { kind: 'preview'; lines: string[]; note?: string }
  | { kind: 'find'; matches: FindMatch[] }
  | { kind: 'diff'; changes: DiffChange[] }
  | { kind: 'restore'; ok: boolean; summaries: string[]; lines: string[] };

export type BrowserView = 'snapshots' | 'tree' | 'preview' | 'find' | 'diff';

export interface BrowserState {
  runbook: string;
  view: BrowserView;
  snapshots: SnapshotRow[];
  snapCursor: number;
  /** Snapshot ids marked for a diff (at most two, oldest mark dropped). */
  snapMarks: string[];
  snapshot?: SnapshotRow;
  /** The folder shown, inside the snapshot ('' = its root). */
  path: string;
  entries: BrowseEntry[];
  cursor: number;
  /** Names containing this (case-insensitive) are shown. */
  filter: string;
  /** Paths marked for a restore. */
  marks: string[];
  preview?: { path: string; lines: string[]; note?: string; top: number };
  find?: { pattern: string; matches: FindMatch[]; cursor: number };
  diff?: { from: string; to: string; changes: DiffChange[]; cursor: number };
  /** One line of text being typed, and what it is for. */
  input?: { purpose: 'filter' | 'find' | 'target'; text: string };
  /** A restore being prepared: target and policy chosen, then the dry run's plan awaiting y/n. */
  restore?: { paths: string[]; target: string; policy: RestorePolicy; plan?: RestorePlan };
  pending?: { id: number; request: BrowserRequest };
  nextId: number;
  loading?: string;
  message?: { text: string; tone: 'ok' | 'warn' | 'fail' | 'muted' };
  closed: boolean;
}

export type BrowserAction =
  | { type: 'key'; input: string; key: KeyInfo }
  | { type: 'loaded'; id: number; result: BrowserResult }
  | { type: 'failed'; id: number; message: string };

export function initialBrowser(runbook: string): BrowserState {
  return request(
    { runbook, view: 'snapshots', snapshots: [], snapCursor: 0, snapMarks: [], path: '', entries: [], cursor: 0, filter: '', marks: [], nextId: 1, closed: false },
    { kind: 'snapshots' },
    'loading snapshots…',
  );
}

function request(state: BrowserState, req: BrowserRequest, loading: string): BrowserState {
  return { ...state, pending: { id: state.nextId, request: req }, nextId: state.nextId + 1, loading, message: undefined };
}

/** The folder's entries the filter lets through, in the order shown. */
export function visibleEntries(state: BrowserState): BrowseEntry[] {
  const f = state.filter.toLowerCase();
  return f === '' ? state.entries : state.entries.filter((e) => e.name.toLowerCase().includes(f));
}

const parentOf = (path: string) => (path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '');
const clamp = (i: number, n: number) => Math.max(0, Math.min(i, n - 1));

export function reduceBrowser(state: BrowserState, action: BrowserAction): BrowserState {
  switch (action.type) {
    case 'loaded':
      return state.pending?.id === action.id ? applyResult({ ...state, pending: undefined, loading: undefined }, state.pending.request, action.result) : state;
    case 'failed':
      return state.pending?.id === action.id ? { ...state, pending: undefined, loading: undefined, message: { text: action.message, tone: 'fail' } } : state;
    case 'key':
      return applyBrowserKey(state, action.input, action.key);
  }
}

function applyResult(state: BrowserState, req: BrowserRequest, result: BrowserResult): BrowserState {
  switch (result.kind) {
    case 'snapshots':
      return { ...state, snapshots: result.snapshots, snapCursor: clamp(state.snapCursor, result.snapshots.length), message: result.snapshots.length === 0 ? { text: `${state.runbook} has no snapshot yet`, tone: 'muted' } : undefined };
    case 'list': {
      if (req.kind !== 'list') return state;
      const snapshot = state.snapshots.find((s) => s.id === req.snapshot) ?? state.snapshot;
      return { ...state, view: 'tree', snapshot, path: req.path, entries: result.entries, cursor: 0, filter: '' };
    }
    case 'preview':
      return req.kind === 'preview' ? { ...state, view: 'preview', preview: { path: req.path, lines: result.lines, note: result.note, top: 0 } } : state;
    case 'find':
      return req.kind === 'find'
        ? { ...state, view: 'find', find: { pattern: req.pattern, matches: result.matches, cursor: 0 }, message: { text: `${result.matches.length} path(s) match ${req.pattern}`, tone: 'muted' } }
        : state;
    case 'diff':
      return req.kind === 'diff' ? { ...state, view: 'diff', diff: { from: req.from, to: req.to, changes: result.changes, cursor: 0 } } : state;
    case 'restore': {
      if (req.kind !== 'restore' || !state.restore) return state;
      if (req.dryRun && result.ok) return { ...state, restore: { ...state.restore, plan: { summaries: result.summaries, lines: result.lines } } };
      const text = result.summaries.join('; ') || (result.ok ? 'restored' : 'restore failed');
      return { ...state, restore: undefined, marks: result.ok ? [] : state.marks, message: { text, tone: result.ok ? 'ok' : 'fail' } };
    }
  }
}

function applyBrowserKey(state: BrowserState, input: string, key: KeyInfo): BrowserState {
  if (state.input) return applyInputKey(state, input, key);
  if (state.restore?.plan) return applyConfirmKey(state, input, key);
  // While something loads, Esc cancels it (a slow folder, a find over many snapshots); other keys wait.
  if (state.pending) return key.escape ? { ...state, pending: undefined, loading: undefined, message: { text: 'cancelled', tone: 'muted' } } : state;
  switch (state.view) {
    case 'snapshots':
      return snapshotsKey(state, input, key);
    case 'tree':
      return treeKey(state, input, key);
    case 'preview':
      return previewKey(state, input, key);
    case 'find':
      return findKey(state, input, key);
    case 'diff':
      return diffKey(state, input, key);
  }
}

function typed(text: string, input: string, key: KeyInfo): string | undefined {
  if (key.backspace || key.delete) return text.slice(0, -1);
  // eslint-disable-next-line no-control-regex
  if (input && !key.ctrl && !key.meta && !/[\x00-\x1f]/.test(input)) return text + input;
  return undefined;
}

function applyInputKey(state: BrowserState, input: string, key: KeyInfo): BrowserState {
  const field = state.input!;
  if (key.escape) {
    // Esc on the filter also clears it; on the restore form it abandons the restore.
    if (field.purpose === 'filter') return { ...state, input: undefined, filter: '', cursor: 0 };
    return { ...state, input: undefined, restore: field.purpose === 'target' ? undefined : state.restore, message: { text: 'cancelled', tone: 'muted' } };
  }
  if (key.tab && field.purpose === 'target' && state.restore) {
    const i = restorePolicies.indexOf(state.restore.policy);
    return { ...state, restore: { ...state.restore, policy: restorePolicies[(i + 1) % restorePolicies.length]! } };
  }
  if (key.return) {
    const text = field.text.trim();
    switch (field.purpose) {
      case 'filter':
        return { ...state, input: undefined };
      case 'find':
        return text === '' ? { ...state, input: undefined } : request({ ...state, input: undefined }, { kind: 'find', pattern: text }, `finding ${text} in every snapshot…`);
      case 'target': {
        if (text === '' || !state.restore || !state.snapshot) return state;
        const restore = { ...state.restore, target: text };
        return request({ ...state, input: undefined, restore }, { kind: 'restore', snapshot: state.snapshot.id, paths: restore.paths, target: text, policy: restore.policy, dryRun: true }, 'planning the restore (dry run)…');
      }
    }
  }
  const text = typed(field.text, input, key);
  if (text === undefined) return state;
  const next = { ...state, input: { ...field, text } };
  return field.purpose === 'filter' ? { ...next, filter: text, cursor: 0 } : next;
}

function applyConfirmKey(state: BrowserState, input: string, key: KeyInfo): BrowserState {
  const r = state.restore!;
  if ((input === 'y' || input === 'Y') && state.snapshot) {
    return request({ ...state, restore: { ...r, plan: undefined } }, { kind: 'restore', snapshot: state.snapshot.id, paths: r.paths, target: r.target, policy: r.policy, dryRun: false }, `restoring ${r.paths.length} path(s) to ${r.target}…`);
  }
  if (input === 'n' || input === 'N' || key.escape) return { ...state, restore: undefined, message: { text: 'restore cancelled: nothing was written', tone: 'muted' } };
  return state;
}

function snapshotsKey(state: BrowserState, input: string, key: KeyInfo): BrowserState {
  const n = state.snapshots.length;
  if (key.escape || input === 'q') return { ...state, closed: true };
  if (key.upArrow || input === 'k') return { ...state, snapCursor: clamp(state.snapCursor - 1, n) };
  if (key.downArrow || input === 'j') return { ...state, snapCursor: clamp(state.snapCursor + 1, n) };
  const current = state.snapshots[state.snapCursor];
  if ((key.return || key.rightArrow) && current) return request({ ...state, snapshot: current }, { kind: 'list', snapshot: current.id, path: '' }, `opening snapshot ${current.id.slice(0, 8)}…`);
  if (input === ' ' && current) {
    const marks = state.snapMarks.includes(current.id) ? state.snapMarks.filter((m) => m !== current.id) : [...state.snapMarks, current.id].slice(-2);
    return { ...state, snapMarks: marks };
  }
  if (input === 'd') {
    // Two marked snapshots, else the selected one against the one before it (snapshots are newest first).
    const pair = state.snapMarks.length === 2 ? state.snapMarks : current && state.snapshots[state.snapCursor + 1] ? [state.snapshots[state.snapCursor + 1]!.id, current.id] : undefined;
    if (!pair) return { ...state, message: { text: 'mark two snapshots with Space, or select one that has an older one', tone: 'muted' } };
    const [a, b] = orderByTime(state, pair[0]!, pair[1]!);
    return request(state, { kind: 'diff', from: a, to: b }, 'comparing snapshots…');
  }
  if (input === 'f') return { ...state, input: { purpose: 'find', text: '' } };
  return state;
}

/** Older first, so the diff reads as what changed since. */
function orderByTime(state: BrowserState, a: string, b: string): [string, string] {
  const t = (id: string) => state.snapshots.find((s) => s.id === id)?.time ?? '';
  return t(a) <= t(b) ? [a, b] : [b, a];
}

function treeKey(state: BrowserState, input: string, key: KeyInfo): BrowserState {
  const shown = visibleEntries(state);
  const n = shown.length;
  const current = shown[state.cursor];
  const snapshot = state.snapshot!;
  if (key.upArrow || input === 'k') return { ...state, cursor: clamp(state.cursor - 1, n) };
  if (key.downArrow || input === 'j') return { ...state, cursor: clamp(state.cursor + 1, n) };
  if (key.pageUp) return { ...state, cursor: clamp(state.cursor - 10, n) };
  if (key.pageDown) return { ...state, cursor: clamp(state.cursor + 10, n) };
  if (key.escape && state.filter !== '') return { ...state, filter: '', cursor: 0 };
  if (key.leftArrow || key.backspace || key.escape || input === 'h') {
    if (state.path === '') return { ...state, view: 'snapshots', entries: [], marks: [] };
    return request(state, { kind: 'list', snapshot: snapshot.id, path: parentOf(state.path) }, 'opening the folder above…');
  }
  if ((key.return || key.rightArrow || input === 'l') && current) {
    if (current.type === 'dir') return request(state, { kind: 'list', snapshot: snapshot.id, path: current.path }, `opening ${current.name}…`);
    if (current.type === 'file') return request(state, { kind: 'preview', snapshot: snapshot.id, path: current.path }, `reading ${current.name}…`);
    return { ...state, message: { text: `${current.name} is a symlink to ${current.target ?? '?'}`, tone: 'muted' } };
  }
  if (input === ' ' && current) {
    const marks = state.marks.includes(current.path) ? state.marks.filter((m) => m !== current.path) : [...state.marks, current.path];
    return { ...state, marks, cursor: clamp(state.cursor + 1, n) };
  }
  if (input === '/') return { ...state, input: { purpose: 'filter', text: state.filter } };
  if (input === 'f') return { ...state, input: { purpose: 'find', text: '' } };
  if (input === 'r') {
    const paths = state.marks.length > 0 ? state.marks : current ? [current.path] : [];
    if (paths.length === 0) return state;
    return { ...state, restore: { paths, target: '', policy: 'never' }, input: { purpose: 'target', text: '' } };
  }
  return state;
}

function previewKey(state: BrowserState, input: string, key: KeyInfo): BrowserState {
  const p = state.preview!;
  if (key.escape || key.leftArrow || key.backspace || input === 'q' || input === 'h') return { ...state, view: 'tree', preview: undefined };
  const step = key.pageDown || input === ' ' ? 10 : key.pageUp ? -10 : key.downArrow || input === 'j' ? 1 : key.upArrow || input === 'k' ? -1 : 0;
  return step === 0 ? state : { ...state, preview: { ...p, top: clamp(p.top + step, p.lines.length) } };
}

function findKey(state: BrowserState, input: string, key: KeyInfo): BrowserState {
  const f = state.find!;
  const n = f.matches.length;
  if (key.escape || key.leftArrow || input === 'q') return { ...state, view: state.snapshot && state.entries.length > 0 ? 'tree' : 'snapshots' };
  if (key.upArrow || input === 'k') return { ...state, find: { ...f, cursor: clamp(f.cursor - 1, n) } };
  if (key.downArrow || input === 'j') return { ...state, find: { ...f, cursor: clamp(f.cursor + 1, n) } };
  const match = f.matches[f.cursor];
  if (key.return && match) {
    // The newest snapshot that holds it, opened at its folder.
    const seen = [...match.sightings].reverse().find((s) => s.entry !== undefined);
    const snapshot = seen && state.snapshots.find((s) => s.id === seen.snapshot);
    if (!snapshot) return { ...state, message: { text: `${match.path} is in no snapshot any more`, tone: 'muted' } };
    return request({ ...state, snapshot }, { kind: 'list', snapshot: snapshot.id, path: parentOf(match.path) }, `opening ${parentOf(match.path) || '/'} in ${snapshot.id.slice(0, 8)}…`);
  }
  return state;
}

function diffKey(state: BrowserState, input: string, key: KeyInfo): BrowserState {
  const d = state.diff!;
  const n = d.changes.length;
  if (key.escape || key.leftArrow || input === 'q') return { ...state, view: 'snapshots', diff: undefined };
  if (key.upArrow || input === 'k') return { ...state, diff: { ...d, cursor: clamp(d.cursor - 1, n) } };
  if (key.downArrow || input === 'j') return { ...state, diff: { ...d, cursor: clamp(d.cursor + 1, n) } };
  if (key.pageUp) return { ...state, diff: { ...d, cursor: clamp(d.cursor - 10, n) } };
  if (key.pageDown) return { ...state, diff: { ...d, cursor: clamp(d.cursor + 10, n) } };
  return state;
}
