import { setTimeout as sleep } from 'node:timers/promises';
import { stripVTControlCharacters } from 'node:util';
import { cleanup, render } from 'ink-testing-library';
import { afterEach, describe, expect, it } from 'vitest';
import type { CommandResult } from '../../commands/command.js';
import type { EventSink } from '../../src/core/events.js';
import { storeUnreachableError } from '../../src/core/index.js';
import { App, type TuiHost } from '../../src/tui/app.js';
import type { StoreSnapshot } from '../../src/tui/state.js';
import { commandNames, drillRecord, iso, now, runRecord, snapshot } from './fixtures.js';

afterEach(() => cleanup());

/** Wait until the frame satisfies `ok` (Ink renders after an await), or fail with the last frame. */
async function until(lastFrame: () => string | undefined, ok: (f: string) => boolean, ms = 3000): Promise<string> {
  const deadline = Date.now() + ms;
  let f = '';
  while (Date.now() < deadline) {
    f = stripVTControlCharacters(lastFrame() ?? '');
    if (ok(f)) return f;
    await sleep(20);
  }
  throw new Error(`timed out; last frame:\n${f}`);
}

function fakeHost(options: { snapshots?: StoreSnapshot[] } = {}) {
  const calls: string[][] = [];
  let loads = 0;
  const snaps = options.snapshots ?? [snapshot()];
  const aborted: string[][] = [];
  let release: (() => void) | undefined;
  const host: TuiHost = {
    commandNames,
    async run(argv: string[], emit: EventSink, signal: AbortSignal): Promise<CommandResult> {
      calls.push(argv);
      if (argv[0] === 'backup') {
        const at = iso(0);
        emit({ type: 'run.started', runId: '20261127T120000-run001', runbook: 'demo', kind: 'backup', at });
        emit({ type: 'stage.started', runId: '20261127T120000-run001', stage: 'snapshot', at });
        emit({ type: 'stage.progress', runId: '20261127T120000-run001', stage: 'snapshot', progress: { files: 3, totalFiles: 10, bytes: 300, totalBytes: 1000, rate: 100, etaSeconds: 7 } });
        await new Promise<void>((resolve) => {
          release = resolve;
          signal.addEventListener('abort', () => {
            aborted.push(argv);
            resolve();
          });
        });
        emit({ type: 'stage.finished', runId: '20261127T120000-run001', stage: 'snapshot', status: 'succeeded', counters: { files: 10 }, at });
        emit({ type: 'run.finished', runId: '20261127T120000-run001', runbook: 'demo', status: 'succeeded', at });
        return { exitCode: 0, summary: 'backed up demo: snapshot 1234abcd' };
      }
      if (argv[0] === 'restore-drill') {
        emit({ type: 'run.started', runId: 'd1', runbook: 'demo', kind: 'drill', at: iso(0) });
        emit({ type: 'drill.measured', drill: drillRecord({ id: 'd1', rtoMs: 1500 }) });
        emit({ type: 'run.finished', runId: 'd1', runbook: 'demo', status: 'succeeded', at: iso(0) });
        return { exitCode: 0, summary: 'drill met' };
      }
      return { exitCode: 0, summary: `${argv.join(' ')} done` };
    },
    async load() {
      return snaps[Math.min(loads++, snaps.length - 1)]!;
    },
    now: () => now,
  };
  return { host, calls, aborted, finish: () => release?.() };
}

describe('App', () => {
  it('runs :backup demo through the host and streams its events into the run view', async () => {
    const { host, calls, finish } = fakeHost();
    const { lastFrame, stdin } = render(<App host={host} pollMs={50} />);
    await until(lastFrame, (f) => f.includes('▸ demo'));
    await sleep(50);
    stdin.write(':');
    await until(lastFrame, (f) => f.includes('Tab completes'));
    stdin.write('backup dem');
    await sleep(30);
    stdin.write('\t');
    await until(lastFrame, (f) => /^:backup demo\s*$/m.test(f));
    stdin.write('\r');
    const running = await until(lastFrame, (f) => f.includes('3/10 files'));
    expect(calls).toEqual([['backup', 'demo']]);
    expect(running).toContain('[2 run]');
    expect(running).toContain('backup demo ▶ running');
    expect(running).toContain('ETA 7.0s');
    expect(running).toContain('▶ backup demo ·');
    finish();
    const done = await until(lastFrame, (f) => f.includes('backed up demo: snapshot 1234abcd'));
    expect(done).toContain('backup demo ✓ succeeded');
  });

  it('asks before a drill, runs it on y, and q quits', async () => {
    const { host, calls } = fakeHost();
    const { lastFrame, stdin } = render(<App host={host} pollMs={50} />);
    await until(lastFrame, (f) => f.includes('▸ demo'));
    stdin.write(':restore-drill demo');
    await sleep(30);
    stdin.write('\r');
    await until(lastFrame, (f) => f.includes('Run a restore drill of demo?'));
    expect(calls).toEqual([]);
    stdin.write('y');
    const f = await until(lastFrame, (x) => x.includes('drill met: RTO 1.5s'));
    expect(calls).toEqual([['restore-drill', 'demo']]);
    expect(f).toMatch(/fetch\s+20\.0s/);
    stdin.write('q');
    await sleep(100);
    stdin.write(':');
    await sleep(100);
    // After q the app has exited: keys no longer reach it.
    expect(stripVTControlCharacters(lastFrame() ?? '')).not.toContain('Tab completes');
  });

  it('acknowledges the selected alert from the alerts pane', async () => {
    const { host, calls } = fakeHost();
    const { lastFrame, stdin } = render(<App host={host} pollMs={50} />);
    await until(lastFrame, (f) => f.includes('▸ demo'));
    stdin.write('4');
    await until(lastFrame, (f) => f.includes('1 open alert'));
    stdin.write('a');
    await until(lastFrame, (f) => f.includes('ack stale:web: ack stale:web done'));
    expect(calls).toEqual([['ack', 'stale:web']]);
  });

  it('shows a run started elsewhere once the store has it', async () => {
    const elsewhere = runRecord({ id: '20261127T120100-other1', status: 'running', endedAt: undefined, actor: { face: 'cli', user: 'bob' }, stages: [{ name: 'snapshot', status: 'running', counters: {} }], stats: undefined });
    const { host } = fakeHost({ snapshots: [snapshot(), snapshot({ runs: [elsewhere] })] });
    const { lastFrame, stdin } = render(<App host={host} pollMs={30} />);
    const f = await until(lastFrame, (x) => x.includes('▶ backup snapshot'));
    expect(f).toContain('backup demo started by cli:bob — press 2 to watch');
    stdin.write('2');
    await until(lastFrame, (x) => x.includes('from store (cli:bob), stage updates'));
  });

  it('? shows the help and Esc closes it', async () => {
    const { host } = fakeHost();
    const { lastFrame, stdin } = render(<App host={host} pollMs={50} />);
    await until(lastFrame, (f) => f.includes('▸ demo'));
    stdin.write('?');
    await until(lastFrame, (f) => f.includes('restore drill of the selected runbook'));
    stdin.write('\x1b');
    await until(lastFrame, (f) => f.includes('▸ demo') && !f.includes('this help'));
  });

  it('quitting while a command runs asks, then cancels it', async () => {
    const { host, aborted } = fakeHost();
    const { lastFrame, stdin } = render(<App host={host} pollMs={50} />);
    await until(lastFrame, (f) => f.includes('▸ demo'));
    stdin.write('b');
    await until(lastFrame, (f) => f.includes('3/10 files'));
    stdin.write('q');
    await until(lastFrame, (f) => f.includes('backup demo still running. Quit and cancel it? [y/n]'));
    stdin.write('y');
    // The cancel reaches the host after a render or two: wait for it rather than for a fixed time.
    for (const deadline = Date.now() + 3000; aborted.length === 0 && Date.now() < deadline; ) await sleep(20);
    expect(aborted).toEqual([['backup', 'demo']]);
  });
});

describe('App with the state store unreachable', () => {
  it('says so in the status bar, naming the store and the spool, and keeps the keys working', async () => {
    const { host } = fakeHost();
    const down = storeUnreachableError('db.example.com:5432/lifeboat', '/var/lib/lifeboat/spool', Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:5432'), { code: 'ECONNREFUSED' }));
    const { lastFrame, stdin } = render(<App host={{ ...host, load: () => Promise.reject(down) }} pollMs={50} />);
    const f = await until(lastFrame, (x) => x.includes('✗ store: state store unreachable'));
    expect(f).toContain('state store unreachable: db.example.com:5432/lifeboat');
    stdin.write('?');
    await until(lastFrame, (x) => x.includes('q, Ctrl-C'));
  });
});
