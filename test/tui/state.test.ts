import { describe, expect, it } from 'vitest';
import type { RunRecord } from '../../src/core/store/index.js';
import {
  complete,
  confirmationFor,
  focusedRun,
  historyEntries,
  initialState,
  reduce,
  splitArgs,
  type KeyInfo,
  type TuiAction,
  type TuiState,
} from '../../src/tui/state.js';
import { commandNames, drillRecord, iso, runRecord, snapshot } from './fixtures.js';

const start = (): TuiState => reduce(initialState({ commandNames }), { type: 'snapshot', snapshot: snapshot() });
const key = (input: string, k: KeyInfo = {}): TuiAction => ({ type: 'key', input, key: k });
const keys = (state: TuiState, ...actions: TuiAction[]): TuiState => actions.reduce(reduce, state);
const type = (state: TuiState, text: string): TuiState => [...text].reduce((s, ch) => reduce(s, key(ch)), state);
const enter = key('', { return: true });

describe('navigation', () => {
  it('moves the runbook selection within bounds and switches screens', () => {
    let s = start();
    expect(s.screen).toBe('dashboard');
    s = keys(s, key('', { downArrow: true }), key('j'), key('j'));
    expect(s.selected).toBe(1);
    s = keys(s, key('k'));
    expect(s.selected).toBe(0);
    s = keys(s, key('', { upArrow: true }));
    expect(s.selected).toBe(0);
    expect(keys(s, key('2')).screen).toBe('run');
    expect(keys(s, key('3')).screen).toBe('history');
    expect(keys(s, key('4')).screen).toBe('alerts');
    expect(keys(s, key('', { tab: true })).screen).toBe('run');
    expect(keys(s, key('', { tab: true, shift: true })).screen).toBe('alerts');
    expect(keys(s, key('4'), key('', { escape: true })).screen).toBe('dashboard');
  });

  it('Enter opens the history of the selected runbook, Enter again its detail, Esc closes it', () => {
    let s = keys(start(), enter);
    expect(s.screen).toBe('history');
    expect(historyEntries(s).map((e) => e.kind)).toEqual(['drill', 'run']);
    s = keys(s, key('j'), enter);
    expect(s.history).toMatchObject({ cursor: 1, detail: true });
    s = keys(s, key('', { escape: true }));
    expect(s.history.detail).toBe(false);
    expect(s.screen).toBe('history');
  });

  it('f filters the history: all, backups, drills', () => {
    let s = keys(start(), key('3'), key('f'));
    expect(s.history.filter).toBe('backups');
    expect(historyEntries(s).map((e) => e.kind)).toEqual(['run']);
    s = keys(s, key('f'));
    expect(historyEntries(s).map((e) => e.kind)).toEqual(['drill']);
    expect(keys(s, key('f')).history.filter).toBe('all');
  });

  it('? opens help and Esc closes it; q quits at once when nothing runs', () => {
    const s = keys(start(), key('?'));
    expect(s.help).toBe(true);
    expect(keys(s, key('', { escape: true })).help).toBe(false);
    expect(keys(start(), key('q')).quit).toBe(true);
  });
});

describe('the command prompt', () => {
  it('opens on :, edits, and queues the command on Enter', () => {
    let s = keys(start(), key(':'));
    expect(s.prompt).toEqual({ text: '', completions: [] });
    s = type(s, 'backup demx');
    s = keys(s, key('', { delete: true }), key('o'));
    expect(s.prompt?.text).toBe('backup demo');
    s = keys(s, enter);
    expect(s.prompt).toBeUndefined();
    expect(s.commands).toEqual([{ id: 1, argv: ['backup', 'demo'], status: 'queued' }]);
    expect(s.promptHistory).toEqual(['backup demo']);
  });

  it('takes typed-ahead keys that arrive as one input, Enter included', () => {
    const s = keys(start(), key(':check demo\r'));
    expect(s.commands.map((c) => c.argv)).toEqual([['check', 'demo']]);
  });

  it('completes command names, then runbook names, listing candidates when ambiguous', () => {
    expect(complete('ba', commandNames, ['demo', 'web'])).toEqual({ text: 'backup ', completions: [] });
    expect(complete('re', commandNames, [])).toEqual({ text: 'res', completions: ['restore', 'restore-drill', 'resume'] });
    expect(complete('restore-drill d', commandNames, ['demo', 'web'])).toEqual({ text: 'restore-drill demo ', completions: [] });
    expect(complete('backup ', commandNames, ['demo', 'web'])).toEqual({ text: 'backup ', completions: ['demo', 'web'] });
    expect(complete('zz', commandNames, [])).toEqual({ text: 'zz', completions: [] });
    let s = keys(start(), key(':'), key('r'), key('e'), key('s'), key('t'), key('', { tab: true }));
    expect(s.prompt).toEqual({ text: 'restore', completions: ['restore', 'restore-drill'] });
    s = type(s, '-d');
    s = keys(s, key('', { tab: true }));
    expect(s.prompt?.text).toBe('restore-drill ');
    s = keys(s, key('w'), key('', { tab: true }));
    expect(s.prompt?.text).toBe('restore-drill web ');
  });

  it('says so for an unknown command and recalls earlier lines with ↑', () => {
    let s = keys(start(), key(':'));
    s = type(s, 'bakup demo');
    s = keys(s, enter);
    expect(s.message).toMatchObject({ tone: 'fail' });
    expect(s.message?.text).toContain('unknown command "bakup"');
    s = keys(s, key(':'), key('', { upArrow: true }));
    expect(s.prompt?.text).toBe('bakup demo');
    expect(keys(s, key('', { escape: true })).prompt).toBeUndefined();
  });

  it('runs console commands itself: :quit, :help, :alerts', () => {
    expect(keys(start(), key(':quit\r')).quit).toBe(true);
    expect(keys(start(), key(':help\r')).help).toBe(true);
    expect(keys(start(), key(':alerts\r')).screen).toBe('alerts');
  });

  it('splits arguments with quotes', () => {
    expect(splitArgs(`restore demo --target "/tmp/a b" 'x y'`)).toEqual(['restore', 'demo', '--target', '/tmp/a b', 'x y']);
  });
});

describe('confirmation', () => {
  it('asks before a drill, a restore onto a path and forget/prune; not before a dry run or a backup', () => {
    expect(confirmationFor(['restore-drill', 'demo'])).toContain('restore drill of demo');
    expect(confirmationFor(['restore', 'demo', '--target', '/srv/app'])).toContain('onto /srv/app');
    expect(confirmationFor(['forget', 'demo'])).toContain('prune');
    expect(confirmationFor(['forget', 'demo', '--dry-run'])).toBeUndefined();
    expect(confirmationFor(['backup', 'demo'])).toBeUndefined();
  });

  it('y runs the command, n or Esc cancels, other keys wait', () => {
    const asked = keys(start(), key(':restore-drill demo\r'));
    expect(asked.confirm?.action).toEqual({ type: 'run', argv: ['restore-drill', 'demo'] });
    expect(asked.commands).toEqual([]);
    expect(keys(asked, key('x')).confirm).toBeDefined();
    expect(keys(asked, key('q')).quit).toBe(false);
    const yes = keys(asked, key('y'));
    expect(yes.confirm).toBeUndefined();
    expect(yes.commands.map((c) => c.argv)).toEqual([['restore-drill', 'demo']]);
    const no = keys(asked, key('n'));
    expect(no.commands).toEqual([]);
    expect(no.message?.text).toBe('cancelled');
    expect(keys(asked, key('', { escape: true })).confirm).toBeUndefined();
  });

  it('D asks for a drill of the selected runbook; b backs it up at once', () => {
    const s = keys(start(), key('j'), key('D'));
    expect(s.confirm?.action).toEqual({ type: 'run', argv: ['restore-drill', 'web'] });
    expect(keys(start(), key('b')).commands.map((c) => c.argv)).toEqual([['backup', 'demo']]);
  });

  it('q while a command runs asks before quitting', () => {
    let s = keys(start(), key('b'), { type: 'command.started', id: 1 }, key('q'));
    expect(s.quit).toBe(false);
    expect(s.confirm?.action).toEqual({ type: 'quit' });
    s = keys(s, key('y'));
    expect(s.quit).toBe(true);
  });
});

describe('engine events', () => {
  const at = iso(0);
  it('a run started from the console takes the run view and fills in stages, progress, hooks, retries and the end', () => {
    let s = keys(start(), key('b'), { type: 'command.started', id: 1 });
    s = reduce(s, { type: 'event', commandId: 1, event: { type: 'run.started', runId: 'r1', runbook: 'demo', kind: 'backup', at } });
    expect(s.screen).toBe('run');
    expect(s.commands[0]?.runId).toBe('r1');
    s = keys(
      s,
      { type: 'event', event: { type: 'stage.started', runId: 'r1', stage: 'snapshot', at } },
      { type: 'event', event: { type: 'stage.progress', runId: 'r1', stage: 'snapshot', progress: { files: 5, bytes: 500, totalBytes: 1000, rate: 100, etaSeconds: 5 } } },
      { type: 'event', event: { type: 'retry', runId: 'r1', operation: 'put pack', attempt: 2, delayMs: 500, error: 'ECONNRESET' } },
      ...Array.from({ length: 12 }, (_, i): TuiAction => ({ type: 'event', event: { type: 'hook.output', runId: 'r1', hook: 'before', line: `line ${i}` } })),
    );
    let run = focusedRun(s)!;
    expect(run.stages).toEqual([{ name: 'snapshot', status: 'running', counters: {}, startedAt: at, progress: { files: 5, bytes: 500, totalBytes: 1000, rate: 100, etaSeconds: 5 } }]);
    expect(run.hookTail).toHaveLength(8);
    expect(run.hookTail.at(-1)).toBe('[before] line 11');
    expect(run.retries).toHaveLength(1);
    s = keys(
      s,
      { type: 'event', event: { type: 'stage.finished', runId: 'r1', stage: 'snapshot', status: 'succeeded', counters: { files: 10 }, at } },
      { type: 'event', event: { type: 'run.finished', runId: 'r1', runbook: 'demo', status: 'succeeded', at } },
      { type: 'command.finished', id: 1, exitCode: 0, summary: 'backed up demo', lines: ['snapshot 1234'] },
    );
    run = focusedRun(s)!;
    expect(run.status).toBe('succeeded');
    expect(run.stages[0]).toMatchObject({ status: 'succeeded', counters: { files: 10 } });
    expect(s.message).toEqual({ text: 'backup demo: backed up demo', tone: 'ok' });
    // The result of a command that ran a run stays in the run view.
    expect(s.screen).toBe('run');
  });

  it('a drill keeps its measured phases for the run view', () => {
    let s = reduce(start(), { type: 'event', event: { type: 'run.started', runId: 'd1', runbook: 'demo', kind: 'drill', at } });
    s = reduce(s, { type: 'event', event: { type: 'drill.measured', drill: drillRecord({ id: 'd1' }) } });
    expect(focusedRun(s)?.drill?.rtoMs).toBe(42_000);
  });

  it('a command that starts no run shows its result on the output screen', () => {
    let s = keys(start(), key(':snapshots demo\r'), { type: 'command.started', id: 1 });
    s = reduce(s, { type: 'command.finished', id: 1, exitCode: 0, summary: '3 snapshots', table: { columns: [{ key: 'id', header: 'ID' }], rows: [{ id: 'abc' }] } });
    expect(s.screen).toBe('output');
    expect(s.outputCommandId).toBe(1);
  });

  it('alerts raised by a run show in the message line', () => {
    const s = reduce(start(), { type: 'event', event: { type: 'alert.raised', alert: { key: 'k', runbook: 'demo', rule: 'r', severity: 'critical', message: 'm', firstSeen: at, lastSeen: at, count: 1, status: 'open' } } });
    expect(s.message).toEqual({ text: 'alert raised: [critical] k: m', tone: 'fail' });
  });
});

describe('store snapshots', () => {
  it('a run started elsewhere joins the run list and follows the store until it ends', () => {
    const running = runRecord({ id: 'other', status: 'running', endedAt: undefined, actor: { face: 'slack', user: 'U1' }, stages: [{ name: 'discover', status: 'running', counters: {} }], stats: undefined });
    let s = reduce(start(), { type: 'snapshot', snapshot: snapshot({ runs: [running, runRecord()] }) });
    expect(s.runs.map((r) => [r.id, r.origin, r.status])).toEqual([['other', 'store', 'running']]);
    expect(s.message?.text).toContain('backup demo started by slack:U1');
    expect(s.screen).toBe('dashboard');
    const progressed: RunRecord = { ...running, stages: [{ name: 'discover', status: 'succeeded', counters: { files: 3 } }, { name: 'snapshot', status: 'running', counters: {} }] };
    s = reduce(s, { type: 'snapshot', snapshot: snapshot({ runs: [progressed] }) });
    expect(s.runs[0]?.stages.map((x) => x.status)).toEqual(['succeeded', 'running']);
    s = reduce(s, { type: 'snapshot', snapshot: snapshot({ runs: [{ ...progressed, status: 'succeeded', endedAt: iso(0) }] }) });
    expect(s.runs[0]?.status).toBe('succeeded');
    expect(s.message).toEqual({ text: 'backup demo by slack:U1 succeeded', tone: 'ok' });
  });

  it('a drill running elsewhere appears as a run', () => {
    const s = reduce(start(), { type: 'snapshot', snapshot: snapshot({ drills: [drillRecord({ id: 'dx', verdict: 'running', rtoMs: undefined, endedAt: undefined })] }) });
    expect(s.runs[0]).toMatchObject({ id: 'dx', kind: 'drill', status: 'running', origin: 'store' });
  });

  it('a drill elsewhere that could not reach its repository ends as a run that did not succeed, its verdict blocked', () => {
    let s = reduce(start(), { type: 'snapshot', snapshot: snapshot({ drills: [drillRecord({ id: 'dx', verdict: 'running', rtoMs: undefined, endedAt: undefined })] }) });
    s = reduce(s, { type: 'snapshot', snapshot: snapshot({ drills: [drillRecord({ id: 'dx', verdict: 'blocked', rtoMs: undefined })] }) });
    expect(s.runs[0]).toMatchObject({ id: 'dx', kind: 'drill', status: 'failed', drill: { verdict: 'blocked' } });
  });

  it('a run this console started is followed live even when a poll read its record before its first event arrived', () => {
    // A busy machine: the backup's record reaches the store (and the next poll) before run.started reaches the reducer.
    const running = runRecord({ id: 'r8', status: 'running', endedAt: undefined, actor: { face: 'tui', user: 'me' }, stages: [], stats: undefined });
    let s = reduce(start(), { type: 'snapshot', snapshot: snapshot({ runs: [running] }) });
    expect(s.runs[0]).toMatchObject({ id: 'r8', origin: 'store' });
    s = reduce(s, { type: 'event', event: { type: 'run.started', runId: 'r8', runbook: 'demo', kind: 'backup', at: iso(0) } });
    expect(s.runs[0]).toMatchObject({ id: 'r8', origin: 'here' });
    s = reduce(s, { type: 'event', event: { type: 'stage.started', runId: 'r8', stage: 'discover', at: iso(0) } });
    // The next poll still holds the stage-less record: a run followed here keeps what its events said.
    s = reduce(s, { type: 'snapshot', snapshot: snapshot({ runs: [running] }) });
    expect(s.runs[0]?.stages.map((x) => [x.name, x.status])).toEqual([['discover', 'running']]);
  });

  it('a run followed by events takes the store final word when it ended without us seeing it', () => {
    let s = reduce(start(), { type: 'event', event: { type: 'run.started', runId: 'r9', runbook: 'demo', kind: 'backup', at: iso(0) } });
    s = reduce(s, { type: 'snapshot', snapshot: snapshot({ runs: [runRecord({ id: 'r9', status: 'failed', error: { code: 'X', message: 'boom' } })] }) });
    expect(s.runs[0]).toMatchObject({ id: 'r9', origin: 'here', status: 'failed', error: { code: 'X', message: 'boom' } });
  });

  it('keeps the selection inside the runbook list and records load errors', () => {
    let s = keys(start(), key('j'));
    s = reduce(s, { type: 'snapshot', snapshot: snapshot({ runbooks: snapshot().runbooks.slice(0, 1) }) });
    expect(s.selected).toBe(0);
    s = reduce(s, { type: 'snapshot.failed', message: 'EACCES' });
    expect(s.loadError).toBe('EACCES');
  });
});

describe('alerts pane', () => {
  it('a acknowledges the selected alert through the ack command', () => {
    const s = keys(start(), key('4'), key('a'));
    expect(s.commands.map((c) => c.argv)).toEqual([['ack', 'stale:web']]);
    expect(keys(start(), key('a')).commands).toEqual([]);
  });
});
