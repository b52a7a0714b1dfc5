/**
 * The snapshot browser's reducer without React: what each key asks for, that
 * an answer to a request the user moved away from is dropped, the filter and
 * marks, and that a restore runs only after its dry run and a yes.
 */
import { describe, expect, it } from 'vitest';
import type { BrowseEntry } from '../../src/core/index.js';
import { initialBrowser, reduceBrowser, visibleEntries, type BrowserAction, type BrowserResult, type BrowserState } from '../../src/tui/browser/model.js';
import type { KeyInfo } from '../../src/tui/state/types.js';

const press = (s: BrowserState, input: string, key: KeyInfo = {}) => reduceBrowser(s, { type: 'key', input, key });
const answer = (s: BrowserState, result: BrowserResult): BrowserState => reduceBrowser(s, { type: 'loaded', id: s.pending!.id, result });
const typeIn = (s: BrowserState, text: string) => [...text].reduce((acc, ch) => press(acc, ch), s);

const entry = (path: string, type: BrowseEntry['type'] = 'file'): BrowseEntry => ({
  path,
  name: path.split('/').pop()!,
  type,
  mode: '0644',
  mtime: '2026-03-01T10:00:00.000Z',
  ...(type === 'file' ? { size: 10 } : {}),
});

const snaps = [
  { id: 'bbbbbbbb22222222', time: '2026-03-02T10:00:00Z', files: 3, bytes: 30 },
  { id: 'aaaaaaaa11111111', time: '2026-03-01T10:00:00Z', files: 2, bytes: 20 },
];

function opened(): BrowserState {
  let s = initialBrowser('web');
  expect(s.pending?.request).toEqual({ kind: 'snapshots' });
  s = answer(s, { kind: 'snapshots', snapshots: snaps });
  s = press(s, '', { return: true });
  expect(s.pending?.request).toEqual({ kind: 'list', snapshot: 'bbbbbbbb22222222', path: '' });
  return answer(s, { kind: 'list', entries: [entry('files', 'dir')] });
}

describe('the snapshot browser model', () => {
  it('walks into folders and back up, and previews a file', () => {
    let s = opened();
    expect(s.view).toBe('tree');
    s = press(s, '', { return: true });
    expect(s.pending?.request).toEqual({ kind: 'list', snapshot: 'bbbbbbbb22222222', path: 'files' });
    s = answer(s, { kind: 'list', entries: [entry('files/etc', 'dir'), entry('files/a.txt')] });
    expect(s.path).toBe('files');
    s = press(s, 'j');
    s = press(s, '', { return: true });
    expect(s.pending?.request).toEqual({ kind: 'preview', snapshot: 'bbbbbbbb22222222', path: 'files/a.txt' });
    s = answer(s, { kind: 'preview', lines: ['hello'] });
    expect(s.view).toBe('preview');
    s = press(s, '', { escape: true });
    expect(s.view).toBe('tree');
    s = press(s, '', { leftArrow: true });
    expect(s.pending?.request).toEqual({ kind: 'list', snapshot: 'bbbbbbbb22222222', path: '' });
  });

  it('drops an answer to a request that Esc cancelled, and ignores other keys while loading', () => {
    let s = opened();
    s = press(s, '', { return: true });
    const stale = s.pending!.id;
    expect(press(s, 'j')).toBe(s);
    s = press(s, '', { escape: true });
    expect(s.pending).toBeUndefined();
    const after = reduceBrowser(s, { type: 'loaded', id: stale, result: { kind: 'list', entries: [entry('files/x')] } } as BrowserAction);
    expect(after.path).toBe('');
    expect(after.entries.map((e) => e.path)).toEqual(['files']);
  });

  it('filters by name as typed, Esc clears it; Space marks and moves on', () => {
    let s = opened();
    s = answer(press(s, '', { return: true }), { kind: 'list', entries: [entry('files/app.yaml'), entry('files/db.yaml'), entry('files/notes.txt')] });
    s = typeIn(press(s, '/'), 'YAML');
    expect(visibleEntries(s).map((e) => e.name)).toEqual(['app.yaml', 'db.yaml']);
    s = press(s, '', { return: true });
    expect(s.input).toBeUndefined();
    s = press(s, ' ');
    expect(s.marks).toEqual(['files/app.yaml']);
    expect(s.cursor).toBe(1);
    s = press(s, '', { escape: true });
    expect(s.filter).toBe('');
    expect(visibleEntries(s)).toHaveLength(3);
  });

  it('restores only after the dry run and y; n writes nothing; Tab picks the policy', () => {
    let s = opened();
    s = answer(press(s, '', { return: true }), { kind: 'list', entries: [entry('files/app.yaml')] });
    s = press(s, ' ');
    s = press(s, 'r');
    expect(s.input?.purpose).toBe('target');
    s = press(s, '', { tab: true });
    s = press(s, '', { tab: true });
    expect(s.restore?.policy).toBe('if-changed');
    s = press(typeIn(s, '/tmp/out'), '', { return: true });
    expect(s.pending?.request).toEqual({ kind: 'restore', snapshot: 'bbbbbbbb22222222', paths: ['files/app.yaml'], target: '/tmp/out', policy: 'if-changed', dryRun: true });
    s = answer(s, { kind: 'restore', ok: true, summaries: ['dry run: would create 1'], lines: [] });
    expect(s.restore?.plan?.summaries).toEqual(['dry run: would create 1']);
    const declined = press(s, 'n');
    expect(declined.pending).toBeUndefined();
    expect(declined.restore).toBeUndefined();
    s = press(s, 'y');
    expect(s.pending?.request).toMatchObject({ kind: 'restore', dryRun: false, policy: 'if-changed' });
    s = answer(s, { kind: 'restore', ok: true, summaries: ['restored snapshot bbbbbbbb'], lines: [] });
    expect(s.marks).toEqual([]);
    expect(s.message).toEqual({ text: 'restored snapshot bbbbbbbb', tone: 'ok' });
  });

  it('diffs two marked snapshots older → newer, or the selected one with the one before', () => {
    let s = answer(initialBrowser('web'), { kind: 'snapshots', snapshots: snaps });
    expect(press(s, 'd').pending?.request).toEqual({ kind: 'diff', from: 'aaaaaaaa11111111', to: 'bbbbbbbb22222222' });
    s = press(press(press(s, ' '), 'j'), ' ');
    expect(s.snapMarks).toEqual(['bbbbbbbb22222222', 'aaaaaaaa11111111']);
    expect(press(s, 'd').pending?.request).toEqual({ kind: 'diff', from: 'aaaaaaaa11111111', to: 'bbbbbbbb22222222' });
    // The oldest selected has no older one: nothing to compare without marks.
    const alone = press(answer(initialBrowser('web'), { kind: 'snapshots', snapshots: snaps }), 'j');
    expect(press(alone, 'd').pending).toBeUndefined();
  });
});
