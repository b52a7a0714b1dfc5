import { stripVTControlCharacters } from 'node:util';
import { render } from 'ink-testing-library';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup } from 'ink-testing-library';
import { AlertsPane } from '../../src/tui/components/AlertsPane.js';
import { CommandPrompt } from '../../src/tui/components/CommandPrompt.js';
import { ConfirmPrompt } from '../../src/tui/components/ConfirmPrompt.js';
import { Dashboard } from '../../src/tui/components/Dashboard.js';
import { Help, keyHelp } from '../../src/tui/components/Help.js';
import { History } from '../../src/tui/components/History.js';
import { OutputView } from '../../src/tui/components/OutputView.js';
import { RunView } from '../../src/tui/components/RunView.js';
import { StatusBar } from '../../src/tui/components/StatusBar.js';
import { Screen } from '../../src/tui/app.js';
import { initialState, reduce, type LiveRun } from '../../src/tui/state.js';
import { createTheme } from '../../src/tui/theme.js';
import { alertRecord, commandNames, drillRecord, iso, now, runRecord, snapshot } from './fixtures.js';

const frame = (f: string | undefined): string => stripVTControlCharacters(f ?? '');
afterEach(() => cleanup());

const liveRun = (over: Partial<LiveRun> = {}): LiveRun => ({
  id: '20261127T120000-cccccc',
  runbook: 'demo',
  kind: 'backup',
  status: 'running',
  startedAt: iso(30_000),
  origin: 'here',
  stages: [
    { name: 'discover', status: 'succeeded', counters: { files: 20, bytes: 10_485_760 }, startedAt: iso(30_000), endedAt: iso(29_000) },
    { name: 'snapshot', status: 'running', counters: {}, progress: { files: 8, totalFiles: 20, bytes: 5_242_880, totalBytes: 10_485_760, rate: 1_048_576, etaSeconds: 5 } },
  ],
  hookTail: ['[before] dumping database', '[before] dump done'],
  retries: [{ operation: 'put pack', attempt: 2, delayMs: 400, error: 'ECONNRESET' }],
  logs: [],
  ...over,
});

describe('Dashboard', () => {
  const props = { runbooks: snapshot().runbooks, selected: 0, runs: [], now, columns: 80, loading: false };

  it('shows a row per runbook: last backup, age against RPO, next backup, RTO with trend, alerts', () => {
    const f = frame(render(<Dashboard {...props} />).lastFrame());
    const lines = f.split('\n');
    expect(lines[0]).toMatch(/RUNBOOK\s+LAST BACKUP\s+AGE\/RPO\s+NEXT\s+RTO\/TARGET TREND\s+ALERTS/);
    expect(lines[1]).toMatch(/▸ demo\s+✓ succeeded 9m\s+✓ 9m\/26h\s+in 1h\s+✓ 42\.0s\/5m ▁█▅\s+✓ 0/);
    expect(lines[2]).toMatch(/web\s+✗ failed 30h\s+✗ none —\/26h\s+in 1h\s+· no drill\s+✗ 1/);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(80);
  });

  it('shows the selected runbook in detail below', () => {
    const f = frame(render(<Dashboard {...props} />).lastFrame());
    expect(f).toContain('── demo — Sample application data');
    expect(f).toMatch(/RPO\s+✓ ok: newest good backup 9m00s old, objective 26h00m · repo 900 B/);
    expect(f).toMatch(/next\s+backup in 1h \(2026-11-27 13:00:00Z\) · drill in 2d22h/);
    expect(f).toMatch(/last drill\s+✓ met: RTO 42\.0s, target 5m00s · 4m ago · trend ▁█▅/);
    const web = frame(render(<Dashboard {...props} selected={1} />).lastFrame());
    expect(web).toMatch(/alerts\s+✗ \[critical\] newest backup of web is 30h old/);
    expect(web).toContain('no drill yet (target 5m00s) — D runs one');
  });

  it('shows the cold tier RTO of a runbook that has one, marked estimated or measured', () => {
    const [demo] = snapshot().runbooks;
    const estimated = { ...demo!, cold: { storageClass: 'DEEP_ARCHIVE', rto: { basis: 'estimated' as const, source: 'computed' as const, verdict: 'met' as const, rtoMs: 49 * 3_600_000, targetMs: 72 * 3_600_000, at: iso(0) } } };
    expect(frame(render(<Dashboard {...props} runbooks={[estimated]} />).lastFrame())).toMatch(/cold RTO\s+✓ met: estimated 2d01h, target 3d00h · DEEP_ARCHIVE/);
    const measured = { ...demo!, cold: { storageClass: 'GLACIER', rto: { basis: 'measured' as const, source: 'drill' as const, verdict: 'missed' as const, rtoMs: 6 * 3_600_000, targetMs: 4 * 3_600_000, at: iso(0) } } };
    expect(frame(render(<Dashboard {...props} runbooks={[measured]} />).lastFrame())).toMatch(/cold RTO\s+\S+ missed: 6h00m, target 4h00m · GLACIER/);
    const none = { ...demo!, cold: { storageClass: 'GLACIER', reason: 'no estimate (no backup yet)' } };
    expect(frame(render(<Dashboard {...props} runbooks={[none]} />).lastFrame())).toMatch(/cold RTO\s+no estimate \(no backup yet\) · GLACIER/);
    expect(frame(render(<Dashboard {...props} />).lastFrame())).not.toContain('cold RTO');
  });

  it('narrows to a 70-column terminal without wrapping', () => {
    const lines = frame(render(<Dashboard {...props} columns={70} />).lastFrame()).split('\n');
    expect(lines[1]).toMatch(/▸ demo\s+✓ succeeded/);
    for (const l of lines.slice(0, 3)) expect(l.length).toBeLessThanOrEqual(70);
  });

  it('marks a runbook that is running now', () => {
    const f = frame(render(<Dashboard {...props} runs={[liveRun()]} />).lastFrame());
    expect(f).toMatch(/demo\s+▶ backup snapshot/);
  });

  it('says when there are no runbooks', () => {
    expect(frame(render(<Dashboard {...props} runbooks={[]} />).lastFrame())).toContain('no runbooks found');
    expect(frame(render(<Dashboard {...props} runbooks={[]} loading />).lastFrame())).toContain('loading runbooks');
  });
});

describe('RunView', () => {
  it('shows stages with a progress bar, bytes, files, rate and ETA, hook output, retries', () => {
    const f = frame(render(<RunView run={liveRun()} runs={[liveRun()]} now={now} columns={80} rows={20} />).lastFrame());
    expect(f).toMatch(/backup demo ▶ running · run 120000-cccccc · started 30\.0s ago · live/);
    expect(f).toMatch(/✓ discover\s+succeeded 1\.0s · 20 files · 10\.0 MiB/);
    expect(f).toMatch(/▶ snapshot\s+running\s+█{15}░{15}\s+50%/);
    expect(f).toContain('5.0 MiB/10.0 MiB · 8/20 files · 1.0 MiB/s · ETA 5.0s');
    expect(f).toContain('[before] dump done');
    expect(f).toContain('! 1 retry; last: put pack attempt 2: ECONNRESET');
  });

  it('shows the verdict of a finished run and a drill with its RTO phases', () => {
    const done = liveRun({ status: 'succeeded', endedAt: iso(0), stages: [], stats: { files: 20, bytes: 10_485_760, bytesNew: 1024, bytesStored: 900 } });
    expect(frame(render(<RunView run={done} runs={[done]} now={now} columns={80} rows={20} />).lastFrame())).toContain('✓ backup succeeded · 20 files, 10.0 MiB read, 1.0 KiB new, 900 B stored');
    const drill = liveRun({ kind: 'drill', status: 'succeeded', endedAt: iso(0), stages: [], hookTail: [], retries: [], drill: drillRecord({ verdict: 'missed', rtoMs: 400_000, reason: 'slowest phase: fetch' }) });
    const f = frame(render(<RunView run={drill} runs={[drill]} now={now} columns={80} rows={20} />).lastFrame());
    expect(f).toMatch(/fetch\s+20\.0s\s+1\.0 MiB\s+51\.2 KiB\/s/);
    expect(f).toContain('! drill missed: RTO 6m40s against a 5m00s target — slowest phase: fetch');
  });

  it('says where a run followed from the store comes from, and when there is nothing to show', () => {
    const other = liveRun({ origin: 'store', actor: 'slack:U1' });
    expect(frame(render(<RunView run={other} runs={[other]} now={now} columns={80} rows={20} />).lastFrame())).toContain('from store (slack:U1), stage updates');
    expect(frame(render(<RunView runs={[]} now={now} columns={80} rows={20} />).lastFrame())).toContain('No runs yet in this session.');
  });
});

describe('History', () => {
  const s0 = reduce(initialState({ commandNames }), { type: 'snapshot', snapshot: snapshot() });
  const entries = [
    { kind: 'drill' as const, at: iso(300_000), drill: drillRecord() },
    { kind: 'run' as const, at: iso(600_000), run: runRecord({ status: 'partial', error: { code: 'SOURCE_FAILED', message: 'db dump failed' } }) },
  ];
  const props = { runbook: 'demo', entries, cursor: 1, detail: false, filter: s0.history.filter, now, rows: 15 };

  it('lists runs and drills with status, start, duration and result', () => {
    const f = frame(render(<History {...props} />).lastFrame());
    expect(f).toContain('history of demo · showing all (f) · 2 entries');
    expect(f).toMatch(/ {2}✓ drill\s+met\s+5m ago\s+1m\s+RTO 42\.0s\/5m00s/);
    expect(f).toMatch(/▸ ! backup\s+partial\s+10m ago\s+1m\s+10 files 1\.0 KiB new/);
  });

  it('shows a run in detail: stages, counters, errors', () => {
    const f = frame(render(<History {...props} detail />).lastFrame());
    expect(f).toMatch(/status\s+! partial/);
    expect(f).toMatch(/error\s+SOURCE_FAILED: db dump failed/);
    expect(f).toMatch(/✓ snapshot\s+succeeded 39\.0s\s+files 10 · bytesRead 2\.0 KiB · bytesNew 1\.0 KiB/);
    expect(f).toMatch(/counters\s+files 10 · bytes 2\.0 KiB · bytesNew 1\.0 KiB · bytesStored 900 B/);
  });

  it('shows a drill in detail: verdict, RTO and its phases', () => {
    const f = frame(render(<History {...props} cursor={0} detail />).lastFrame());
    expect(f).toMatch(/RTO\s+42\.0s against a 5m00s target/);
    expect(f).toMatch(/validate\s+6\.0s\s+1\.0 MiB/);
  });

  it('names the path of a path drill, in the list and in the detail', () => {
    const pathEntries = [{ kind: 'drill' as const, at: iso(300_000), drill: drillRecord({ path: 'data/etc/app.yaml' }) }];
    const list = frame(render(<History {...props} entries={pathEntries} cursor={0} />).lastFrame());
    expect(list).toMatch(/✓ drill\s+met\s+5m ago\s+1m\s+RTO 42\.0s\/5m00s · path data\/etc\/app\.yaml/);
    const detail = frame(render(<History {...props} entries={pathEntries} cursor={0} detail />).lastFrame());
    expect(detail).toMatch(/path\s+data\/etc\/app\.yaml \(a path drill: its RTO is that path's, not the runbook's\)/);
  });
});

describe('AlertsPane', () => {
  it('lists open alerts and how to acknowledge them', () => {
    const alerts = [alertRecord(), alertRecord({ key: 'anomaly:demo', severity: 'warning', runbook: 'demo', message: 'backup size 5× the median', ackedBy: 'bob' })];
    const f = frame(render(<AlertsPane alerts={alerts} cursor={1} now={now} rows={20} />).lastFrame());
    expect(f).toContain('2 open alerts · a: acknowledge the selected one');
    expect(f).toMatch(/ {2}✗ critical\s+stale:web\s+not acked · seen 3× · 1m ago/);
    expect(f).toMatch(/▸ ! warning\s+anomaly:demo\s+acked by bob/);
    expect(f).toContain('backup size 5× the median');
    expect(frame(render(<AlertsPane alerts={[]} cursor={0} now={now} rows={20} />).lastFrame())).toContain('✓ no open alerts');
  });
});

describe('prompts, help, status bar, output', () => {
  it('the command prompt shows the text and ambiguous completions', () => {
    const f = frame(render(<CommandPrompt text="res" completions={['restore', 'restore-drill', 'resume']} />).lastFrame());
    expect(f).toContain('restore  restore-drill  resume');
    expect(f).toContain(':res');
    expect(frame(render(<CommandPrompt text="" completions={[]} />).lastFrame())).toContain('Tab completes');
  });

  it('the confirmation asks y/n', () => {
    expect(frame(render(<ConfirmPrompt question="Run a restore drill of demo?" />).lastFrame())).toBe('! Run a restore drill of demo? [y/n]');
  });

  it('help lists every key', () => {
    const f = frame(render(<Help />).lastFrame());
    for (const k of keyHelp) expect(f).toContain(k.keys.trim());
    for (const k of ['q', '?', ':', 'a', 'D', 'b', 'y / n', 'Esc', 'Enter']) expect(f).toContain(k);
  });

  it('the status bar shows the message, what runs and how fresh the data is', () => {
    const f = frame(render(<StatusBar running={[{ id: 1, argv: ['backup', 'demo'], status: 'running' }]} message={{ text: 'backed up demo', tone: 'ok' }} loadedAt={iso(500)} now={now} />).lastFrame());
    expect(f).toContain('backed up demo');
    expect(f).toContain('▶ backup demo · live · : command · ? help · q quit');
    expect(frame(render(<StatusBar running={[]} loadedAt={iso(10_000)} now={now} />).lastFrame())).toContain('data from 10.0s ago');
    expect(frame(render(<StatusBar running={[]} loadError="EACCES" now={now} />).lastFrame())).toContain('✗ store: EACCES');
  });

  it('the output view shows a command result table and lines', () => {
    const f = frame(
      render(
        <OutputView command={{ id: 1, argv: ['snapshots', 'demo'], status: 'done', exitCode: 0, summary: '1 snapshot', table: { columns: [{ key: 'id', header: 'ID' }, { key: 'files', header: 'FILES', align: 'right' }], rows: [{ id: 'abcd1234', files: '10' }] }, lines: ['kept by last 5'] }} rows={20} />,
      ).lastFrame(),
    );
    expect(f).toContain(':snapshots demo');
    expect(f).toContain('✓ 1 snapshot');
    expect(f).toMatch(/ID\s+FILES/);
    expect(f).toMatch(/abcd1234\s+10/);
    expect(f).toContain('kept by last 5');
  });
});

describe('the whole screen', () => {
  it('fits 80×24 with header, dashboard and status bar', () => {
    const s = reduce(initialState({ commandNames, columns: 80, rows: 24 }), { type: 'snapshot', snapshot: snapshot() });
    const f = frame(render(<Screen state={s} now={now} />).lastFrame());
    const lines = f.split('\n');
    expect(lines.length).toBeLessThanOrEqual(23);
    expect(lines[0]).toContain('lifeboat [1 dashboard]  2 run   3 history   4 alerts 1');
    expect(lines.at(-1)).toContain('? help · q quit');
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(80);
  });

  it('shows the prompt and the confirmation at the bottom', () => {
    let s = reduce(initialState({ commandNames }), { type: 'snapshot', snapshot: snapshot() });
    s = reduce(s, { type: 'key', input: ':restore-drill demo\r', key: {} });
    expect(frame(render(<Screen state={s} now={now} />).lastFrame())).toContain('! Run a restore drill of demo?');
  });
});

describe('theme', () => {
  it('turns colour off under NO_COLOR and keeps the symbols', () => {
    const plain = createTheme({ NO_COLOR: '1' });
    expect(plain.color).toBe(false);
    expect(plain.tone('fail')).toBeUndefined();
    expect(plain.symbol).toMatchObject({ ok: '✓', warn: '!', fail: '✗' });
    const coloured = createTheme({});
    expect(coloured.tone('ok')).toBe('green');
    expect(coloured.tone('warn')).toBe('yellow');
    expect(coloured.tone('fail')).toBe('red');
    expect(coloured.tone('muted')).toBe('gray');
  });
});
