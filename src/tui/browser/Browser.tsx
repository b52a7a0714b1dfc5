/**
 * The snapshot browser: draws the browser's state (model.ts) and carries out
 * what it asks for (host.ts), one request at a time; an answer that comes
 * after the user moved on is dropped by the reducer. Keys go to the reducer
 * while the browser is open (the console's own keys are off meanwhile).
 */
import { Box, Text, useInput } from 'ink';
import { useEffect, useReducer } from 'react';
import { displayPath, formatBytes, formatTime, shortId, type BrowseEntry, type DiffChange } from '../../core/index.js';
import { theme } from '../theme.js';
import { performBrowse, type BrowseHost } from './host.js';
import { initialBrowser, reduceBrowser, visibleEntries, type BrowserState } from './model.js';

export interface BrowserProps {
  host: BrowseHost;
  runbook: string;
  columns: number;
  rows: number;
  onClose(): void;
  /** Keys are taken only when true (the console may not have a raw-mode stdin). */
  keysActive: boolean;
}

export function Browser({ host, runbook, columns, rows, onClose, keysActive }: BrowserProps) {
  const [state, dispatch] = useReducer(reduceBrowser, runbook, initialBrowser);
  useInput((input, key) => dispatch({ type: 'key', input, key }), { isActive: keysActive });

  const pending = state.pending;
  useEffect(() => {
    if (!pending) return;
    const controller = new AbortController();
    performBrowse(host, state.runbook, pending.request, controller.signal).then(
      (result) => dispatch({ type: 'loaded', id: pending.id, result }),
      (e: unknown) => dispatch({ type: 'failed', id: pending.id, message: e instanceof Error ? e.message : String(e) }),
    );
    return () => controller.abort();
    // Only a new request starts work (its id); the runbook never changes while open.
  }, [pending?.id, host]);

  useEffect(() => {
    if (state.closed) onClose();
  }, [state.closed, onClose]);

  const listRows = Math.max(3, rows - 4);
  return (
    <Box flexDirection="column" width={columns}>
      <Text bold wrap="truncate-end">
        {title(state)}
      </Text>
      <Box flexDirection="column" height={listRows} overflow="hidden">
        <Body state={state} rows={listRows} columns={columns} />
      </Box>
      <Footer state={state} />
    </Box>
  );
}

function title(s: BrowserState): string {
  const where = s.snapshot ? ` · snapshot ${shortId(s.snapshot.id)} (${formatTime(s.snapshot.time)})` : '';
  switch (s.view) {
    case 'snapshots':
      return `browse ${s.runbook} · ${s.snapshots.length} snapshot(s)${s.snapMarks.length > 0 ? ` · ${s.snapMarks.length} marked for diff` : ''}`;
    case 'tree':
      return `browse ${s.runbook}${where} · /${displayPath(s.path)}${s.filter ? ` · filter "${s.filter}"` : ''}${s.marks.length > 0 ? ` · ${s.marks.length} marked` : ''}`;
    case 'preview':
      return `${s.runbook}${where} · ${displayPath(s.preview?.path ?? '')}`;
    case 'find':
      return `find "${s.find?.pattern}" in ${s.runbook}: ${s.find?.matches.length ?? 0} path(s)`;
    case 'diff':
      return `diff ${s.runbook}: ${shortId(s.diff?.from ?? '')} → ${shortId(s.diff?.to ?? '')}: ${s.diff?.changes.length ?? 0} change(s)`;
  }
}

/** The slice of `count` rows to show so that `cursor` is visible. */
function windowOf(cursor: number, count: number, rows: number): [number, number] {
  const top = Math.max(0, Math.min(cursor - Math.floor(rows / 2), count - rows));
  return [top, Math.min(count, top + rows)];
}

function Body({ state, rows, columns }: { state: BrowserState; rows: number; columns: number }) {
  switch (state.view) {
    case 'snapshots': {
      const [from, to] = windowOf(state.snapCursor, state.snapshots.length, rows);
      return (
        <>
          {state.snapshots.slice(from, to).map((s, i) => {
            const at = from + i;
            const mark = state.snapMarks.includes(s.id) ? '◆' : ' ';
            return (
              <Text key={s.id} inverse={at === state.snapCursor} wrap="truncate-end">
                {`${mark} ${shortId(s.id)}  ${formatTime(s.time)}  ${String(s.files).padStart(7)} files  ${formatBytes(s.bytes).padStart(10)}`}
              </Text>
            );
          })}
        </>
      );
    }
    case 'tree': {
      const shown = visibleEntries(state);
      if (shown.length === 0) return <Text color={theme.tone('muted')}>{state.filter ? 'nothing matches the filter' : 'empty folder'}</Text>;
      const [from, to] = windowOf(state.cursor, shown.length, rows);
      return (
        <>
          {shown.slice(from, to).map((e, i) => (
            <Text key={e.path} inverse={from + i === state.cursor} wrap="truncate-end">
              {entryLine(e, state.marks.includes(e.path), columns)}
            </Text>
          ))}
        </>
      );
    }
    case 'preview': {
      const p = state.preview!;
      if (p.lines.length === 0) return <Text color={theme.tone('muted')}>{p.note ?? 'empty file'}</Text>;
      return (
        <>
          {p.lines.slice(p.top, p.top + rows).map((line, i) => (
            <Text key={p.top + i} wrap="truncate-end">
              {line === '' ? ' ' : line}
            </Text>
          ))}
        </>
      );
    }
    case 'find': {
      const f = state.find!;
      if (f.matches.length === 0) return <Text color={theme.tone('muted')}>no snapshot holds a path matching {f.pattern}</Text>;
      const [from, to] = windowOf(f.cursor, f.matches.length, rows);
      return (
        <>
          {f.matches.slice(from, to).map((m, i) => {
            const held = m.sightings.filter((s) => s.entry !== undefined);
            const last = m.sightings[m.sightings.length - 1];
            return (
              <Text key={m.path} inverse={from + i === f.cursor} wrap="truncate-end">
                {`${displayPath(m.path)}  in ${held.length} snapshot(s)${last ? `, last ${last.change} in ${shortId(last.snapshot)} (${formatTime(last.time)})` : ''}`}
              </Text>
            );
          })}
        </>
      );
    }
    case 'diff': {
      const d = state.diff!;
      if (d.changes.length === 0) return <Text color={theme.tone('muted')}>the two snapshots hold the same files</Text>;
      const [from, to] = windowOf(d.cursor, d.changes.length, rows);
      const side = Math.max(12, Math.floor((columns - 12) / 2));
      return (
        <>
          <Text color={theme.tone('muted')}>{`${'change'.padEnd(9)}${`before (${shortId(d.from)})`.padEnd(side)} after (${shortId(d.to)})`}</Text>
          {d.changes.slice(from, to).map((c, i) => (
            <Text key={`${c.change}:${c.path}`} inverse={from + i === d.cursor} wrap="truncate-end">
              <Text color={theme.tone(c.change === 'added' ? 'ok' : c.change === 'removed' ? 'fail' : c.change === 'changed' ? 'warn' : 'muted')}>{c.change.padEnd(9)}</Text>
              {sideOf(c, 'before', side)}
              {sideOf(c, 'after', side)}
            </Text>
          ))}
        </>
      );
    }
  }
}

function entryLine(e: BrowseEntry, marked: boolean, columns: number): string {
  const name = displayPath(e.name) + (e.type === 'dir' ? '/' : '') + (e.type === 'symlink' ? ` → ${displayPath(e.target ?? '')}` : '');
  const size = e.type === 'file' ? formatBytes(e.size ?? 0) : '';
  const right = `${size.padStart(10)}  ${formatTime(e.mtime)}`;
  const room = Math.max(10, columns - right.length - 4);
  return `${marked ? '●' : ' '} ${name.length > room ? `${name.slice(0, room - 1)}…` : name.padEnd(room)}${right}`;
}

function sideOf(c: DiffChange, which: 'before' | 'after', width: number): string {
  const e = c[which];
  if (!e) return ''.padEnd(width);
  const text = `${displayPath(e.path)}${e.type === 'file' ? ` ${formatBytes(e.size ?? 0)}` : e.type === 'dir' ? '/' : ''}`;
  return (text.length > width - 1 ? `${text.slice(0, width - 2)}…` : text).padEnd(width);
}

function Footer({ state }: { state: BrowserState }) {
  const lines: { text: string; tone?: Parameters<typeof theme.tone>[0] }[] = [];
  if (state.restore && !state.restore.plan && state.input?.purpose === 'target') {
    lines.push({ text: `restore ${state.restore.paths.length} path(s) · policy for files already there: ${state.restore.policy} (Tab changes)` });
    lines.push({ text: `into folder: ${state.input.text}▏ (Enter plans it, Esc cancels)`, tone: 'accent' });
  } else if (state.restore?.plan) {
    for (const s of state.restore.plan.summaries) lines.push({ text: s });
    for (const l of state.restore.plan.lines.slice(0, 3)) lines.push({ text: `  ${l}`, tone: 'muted' });
    lines.push({ text: `Restore into ${state.restore.target} with --overwrite ${state.restore.policy}? y / n`, tone: 'warn' });
  } else if (state.input) {
    lines.push({ text: `${state.input.purpose === 'filter' ? 'filter' : 'find (glob, e.g. **/app.yaml)'}: ${state.input.text}▏`, tone: 'accent' });
  } else {
    lines.push({ text: keysOf(state), tone: 'muted' });
  }
  if (state.loading) lines.push({ text: state.loading, tone: 'running' });
  else if (state.message) lines.push({ text: state.message.text, tone: state.message.tone });
  return (
    <Box flexDirection="column">
      {lines.map((l, i) => (
        <Text key={i} wrap="truncate-end" {...(l.tone ? { color: theme.tone(l.tone) } : {})}>
          {l.text}
        </Text>
      ))}
    </Box>
  );
}

function keysOf(s: BrowserState): string {
  switch (s.view) {
    case 'snapshots':
      return 'Enter open · Space mark · d diff (2 marked, or with the one before) · f find · Esc close';
    case 'tree':
      return 'Enter open/preview · ← up · / filter · Space mark · r restore marked · f find · Esc back';
    case 'preview':
      return (s.preview?.note ? `${s.preview.note} · ` : '') + '↑ ↓ PgUp PgDn scroll · Esc back';
    case 'find':
      return 'Enter open the newest snapshot holding it · Esc back';
    case 'diff':
      return '↑ ↓ move · Esc back';
  }
}
