/**
 * The real program in a real terminal: `node bin/lifeboat.js` inside tmux,
 * driven with send-keys and read with capture-pane. Each screen is compared
 * with its golden in test/tui/screens/, times and ids masked
 * (./screen-golden.ts). Skipped when tmux is missing, except under CI=true,
 * where that fails (.ci/run installs tmux).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureCliBuilt, repoRoot, runCli } from '../helpers/cli.js';
import { skipWithoutTool } from '../helpers/required-tool.js';
import { expectScreen } from './screen-golden.js';

const tmuxState = spawnSync('tmux', ['-V']).status === 0 ? ({ ok: true } as const) : ({ ok: false, why: 'tmux is not installed (.ci/run installs the Debian package tmux)' } as const);
// Our own tmux server (socket), so the tests never touch anyone's sessions.
const socket = `lifeboat-tui-e2e-${process.pid}`;
const dirs: string[] = [];

function tmux(...args: string[]): string {
  const r = spawnSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function screen(session: string): string {
  return tmux('capture-pane', '-p', '-t', session);
}

async function waitFor(session: string, ok: (s: string) => boolean, what: string, ms = 30_000): Promise<string> {
  const deadline = Date.now() + ms;
  let s = '';
  while (Date.now() < deadline) {
    s = screen(session);
    if (ok(s)) return s;
    await sleep(100);
  }
  throw new Error(`waited ${ms} ms for ${what}; screen:\n${s}`);
}

function openConsole(session: string, env: Record<string, string>, size = { x: 100, y: 30 }): void {
  const vars = Object.entries({ LIFEBOAT_TEST_SCRYPT_N: '1024', ...env })
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(' ');
  // The trailing echo shows the exit code once the console has quit.
  tmux('new-session', '-d', '-s', session, '-x', String(size.x), '-y', String(size.y), `cd ${JSON.stringify(repoRoot)} && env ${vars} node bin/lifeboat.js; echo "console exited with $?"; sleep 600`);
}

describe('the console in tmux', () => {
  beforeAll(async () => {
    if (tmuxState.ok) await ensureCliBuilt();
  });
  afterAll(() => {
    spawnSync('tmux', ['-L', socket, 'kill-server']);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('start, :backup demo, :restore-drill demo (y), the RTO on the dashboard, q', async (ctx) => {
    skipWithoutTool(ctx, 'tmux', tmuxState);
    const home = mkdtempSync(join(tmpdir(), 'lifeboat-tui-e2e-'));
    dirs.push(home);
    const init = await runCli(['init', 'demo'], { env: { LIFEBOAT_HOME: home } });
    expect(init.code, init.stderr).toBe(0);
    const s = 'demo';
    openConsole(s, { LIFEBOAT_HOME: home });
    expectScreen('01-dashboard-start', await waitFor(s, (x) => x.includes('▸ demo') && x.includes('never'), 'the dashboard'));

    tmux('send-keys', '-t', s, '-l', ':backup demo');
    expectScreen('02-prompt', await waitFor(s, (x) => x.includes(':backup demo'), 'the prompt'));
    tmux('send-keys', '-t', s, 'Enter');
    // The run's totals come with the store poll after its last event: wait for them, or the screen depends on which came first.
    const done = await waitFor(s, (x) => x.includes('✓ backup succeeded · 10 files') && x.includes('backup demo: backed up demo'), 'the backup to finish');
    expectScreen('03-run-view-backup', done);
    expect(done).toContain('[2 run]');
    expect(done).toMatch(/✓ snapshot\s+succeeded/);
    expect(done).toMatch(/backup demo: backed up demo: snapshot [0-9a-f]{8}/);

    tmux('send-keys', '-t', s, '-l', ':restore-drill demo');
    tmux('send-keys', '-t', s, 'Enter');
    expectScreen('04-confirm-drill', await waitFor(s, (x) => x.includes('Run a restore drill of demo?') && x.includes('[y/n]'), 'the confirmation'));
    tmux('send-keys', '-t', s, 'y');
    const drill = await waitFor(s, (x) => /drill met: RTO \S+ against a 5m00s target/.test(x) && x.includes('restore-drill demo: drill met'), 'the drill verdict');
    expectScreen('05-run-view-drill', drill);
    expect(drill).toMatch(/validate\s+\S+/);

    tmux('send-keys', '-t', s, '1');
    const dash = await waitFor(s, (x) => /▸ demo\s+✓ succeeded/.test(x) && /✓ \S+\/5m/.test(x) && x.includes('last drill   ✓ met: RTO'), 'the RTO on the dashboard');
    expectScreen('06-dashboard-rto', dash);

    tmux('send-keys', '-t', s, '3');
    const hist = await waitFor(s, (x) => x.includes('history of demo') && /✓ drill\s+met/.test(x) && /✓ backup\s+succeeded/.test(x), 'the history');
    expectScreen('07-history', hist);
    tmux('send-keys', '-t', s, '?');
    expectScreen('08-help', await waitFor(s, (x) => x.includes('q, Ctrl-C'), 'the help'));
    tmux('send-keys', '-t', s, 'Escape');
    await waitFor(s, (x) => !x.includes('q, Ctrl-C'), 'the help to close');

    tmux('send-keys', '-t', s, 'q');
    await waitFor(s, (x) => x.includes('console exited with 0'), 'the console to quit');
  });

  it('a backup started by another process appears live in the open console (80×24)', async (ctx) => {
    skipWithoutTool(ctx, 'tmux', tmuxState);
    const home = mkdtempSync(join(tmpdir(), 'lifeboat-tui-e2e-'));
    const runbooks = mkdtempSync(join(tmpdir(), 'lifeboat-tui-e2e-rb-'));
    dirs.push(home, runbooks);
    // A demo copy whose before hook waits for the test, so the run is seen while it runs, at a moment the test chooses.
    const go = join(home, 'go');
    writeFileSync(
      join(runbooks, 'slow.yaml'),
      [
        'name: slow',
        'sources:',
        `  - name: sample`,
        `    path: ${JSON.stringify(join(repoRoot, 'runbooks/demo-data'))}`,
        'hooks:',
        `  before: [${JSON.stringify(`echo preparing; while [ ! -e ${go} ]; do sleep 0.1; done; echo ready`)}]`,
        'repository:',
        '  hot:',
        `    url: ${JSON.stringify(`file://${home}/repos/slow`)}`,
        `  password: { file: ${JSON.stringify(`${home}/keys/slow.key`)}, create: true }`,
        'schedule: { backup: "0 * * * *", timezone: UTC }',
        'objectives: { rpo: 26h, rto: 5m }',
        '',
      ].join('\n'),
    );
    const env = { LIFEBOAT_HOME: home, LIFEBOAT_RUNBOOKS: runbooks };
    const init = await runCli(['init', 'slow'], { env });
    expect(init.code, init.stderr).toBe(0);
    const s = 'other';
    openConsole(s, env, { x: 80, y: 24 });
    await waitFor(s, (x) => x.includes('▸ slow') && x.includes('never'), 'the dashboard');

    const backup = runCli(['backup', 'slow'], { env });
    const seen = await waitFor(s, (x) => /slow\s+▶ backup hooks/.test(x) && x.includes('backup slow started by cli:'), 'the other run on the dashboard');
    expectScreen('09-other-process-dashboard', seen);
    tmux('send-keys', '-t', s, '2');
    const live = await waitFor(s, (x) => x.includes('backup slow ▶ running') && x.includes('from store (cli:') && x.includes('▶ hooks'), 'the other run in the run view');
    expectScreen('10-other-process-run-view', live);
    writeFileSync(go, '');
    const result = await backup;
    expect(result.code, result.stderr).toBe(0);
    const finished = await waitFor(s, (x) => x.includes('backup slow ✓ succeeded') && x.includes('backup slow by cli:'), 'the other run to finish in the console');
    expectScreen('11-other-process-finished', finished);
    for (const line of finished.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
    tmux('send-keys', '-t', s, 'q');
    await waitFor(s, (x) => x.includes('console exited with 0'), 'the console to quit');
  });
});
