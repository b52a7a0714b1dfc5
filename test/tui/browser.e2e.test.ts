/**
 * The snapshot browser in the real console (`node bin/lifeboat.js` in tmux):
 * two snapshots of a runbook, the second with an edited and a new file.
 * Open the browser from the dashboard (s), diff the two snapshots, walk into
 * a folder, preview the edited file, find it across snapshots, mark it and
 * restore it into a new folder after the dry run and a yes — and the file on
 * disk is the snapshot's. Two screens are compared with their goldens
 * (test/tui/screens/12-*, 13-*; UPDATE_SCREENS=1 rewrites them).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureCliBuilt, repoRoot, runCli } from '../helpers/cli.js';
import { pipelineEnv, writePipelineRunbook } from '../helpers/pipeline-runbook.js';
import { skipWithoutTool } from '../helpers/required-tool.js';
import { expectScreen } from './screen-golden.js';

const tmuxState = spawnSync('tmux', ['-V']).status === 0 ? ({ ok: true } as const) : ({ ok: false, why: 'tmux is not installed (.ci/run installs the Debian package tmux)' } as const);
const socket = `lifeboat-browser-e2e-${process.pid}`;
const dirs: string[] = [];

function tmux(...args: string[]): string {
  const r = spawnSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function waitFor(session: string, ok: (s: string) => boolean, what: string, ms = 30_000): Promise<string> {
  const deadline = Date.now() + ms;
  let s = '';
  while (Date.now() < deadline) {
    s = tmux('capture-pane', '-p', '-t', session);
    if (ok(s)) return s;
    await sleep(100);
  }
  throw new Error(`waited ${ms} ms for ${what}; screen:\n${s}`);
}

const keys = (s: string, ...k: string[]) => tmux('send-keys', '-t', s, ...k);
const typeText = (s: string, text: string) => tmux('send-keys', '-t', s, '-l', text);

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

describe('the snapshot browser in tmux', () => {
  beforeAll(async () => {
    if (tmuxState.ok) await ensureCliBuilt();
  });
  afterAll(() => {
    spawnSync('tmux', ['-L', socket, 'kill-server']);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('diff, walk, preview, find, then restore a marked file after the dry run and a yes', async (ctx) => {
    skipWithoutTool(ctx, 'tmux', tmuxState);
    const dir = mkdtempSync(join(tmpdir(), 'lifeboat-browser-'));
    dirs.push(dir);
    const data = join(dir, 'data');
    mkdirSync(join(data, 'etc'), { recursive: true });
    writeFileSync(join(data, 'etc', 'app.yaml'), 'port: 8080\n');
    writeFileSync(join(data, 'notes.txt'), 'kept as is\n');
    const runbooks = join(dir, 'runbooks');
    mkdirSync(runbooks);
    writePipelineRunbook(runbooks, 'web', { sources: [{ name: 'files', path: data }], repo: join(dir, 'repo') });
    const env = pipelineEnv(join(dir, 'home'), { LIFEBOAT_RUNBOOKS: runbooks, LIFEBOAT_TEST_SCRYPT_N: '1024' });
    for (const argv of [['init', 'web'], ['backup', 'web']]) expect((await runCli(argv, { env, cwd: dir })).code).toBe(0);
    writeFileSync(join(data, 'etc', 'app.yaml'), 'port: 9090\nworkers: 4\n');
    writeFileSync(join(data, 'new.txt'), 'added later\n');
    expect((await runCli(['backup', 'web'], { env, cwd: dir })).code).toBe(0);

    const s = 'browser';
    const vars = Object.entries(env).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ');
    tmux('new-session', '-d', '-s', s, '-x', '110', '-y', '30', `cd ${JSON.stringify(dir)} && env ${vars} node ${JSON.stringify(join(repoRoot, 'bin/lifeboat.js'))}; echo "console exited with $?"; sleep 600`);
    await waitFor(s, (x) => x.includes('▸ web'), 'the dashboard');

    keys(s, 's');
    await waitFor(s, (x) => x.includes('browse web · 2 snapshot(s)'), 'the snapshot list');
    // The newest is selected: d compares it with the one before.
    keys(s, 'd');
    const diff = await waitFor(s, (x) => /diff web: \w{8} → \w{8}: \d+ change/.test(x), 'the diff');
    expect(diff).toMatch(/changed\s+files\/etc\/app\.yaml 11 B\s+files\/etc\/app\.yaml 22 B/);
    expect(diff).toMatch(/added\s+files\/new\.txt 12 B/);
    expect(diff).not.toContain('notes.txt');
    expectScreen('13-browser-diff', diff);
    keys(s, 'Escape');
    await waitFor(s, (x) => x.includes('browse web · 2 snapshot(s)'), 'back to the snapshots');

    keys(s, 'Enter');
    await waitFor(s, (x) => /browse web · snapshot \w{8} .* · \/\s/.test(x) && x.includes('files/'), 'the snapshot root');
    keys(s, 'Enter');
    const folder = await waitFor(s, (x) => x.includes('· /files') && x.includes('new.txt') && x.includes('notes.txt'), 'the source folder');
    // Folders first.
    expect(folder.indexOf('etc/')).toBeLessThan(folder.indexOf('new.txt'));
    expectScreen('12-browser-folder', folder);
    // / filters the folder by name as it is typed; Enter keeps the filter, Esc clears it.
    keys(s, '/');
    typeText(s, 'note');
    const filtered = await waitFor(s, (x) => x.includes('filter: note') && !x.includes('new.txt'), 'the filtered folder');
    expect(filtered).toContain('notes.txt');
    keys(s, 'Enter');
    await waitFor(s, (x) => x.includes('· filter "note"') && x.includes('Esc back'), 'the filter kept');
    keys(s, 'Escape');
    await waitFor(s, (x) => !x.includes('filter "note"') && x.includes('new.txt'), 'the filter cleared');
    keys(s, 'Enter');
    await waitFor(s, (x) => x.includes('· /files/etc') && x.includes('app.yaml'), 'the etc folder');
    keys(s, 'Enter');
    const preview = await waitFor(s, (x) => x.includes('port: 9090') && x.includes('workers: 4'), 'the preview');
    expect(preview).toContain('files/etc/app.yaml');
    keys(s, 'Escape');
    await waitFor(s, (x) => x.includes('· /files/etc') && !x.includes('port: 9090'), 'back to the folder');

    keys(s, 'f');
    await waitFor(s, (x) => x.includes('find (glob'), 'the find prompt');
    typeText(s, '**/app.yaml');
    keys(s, 'Enter');
    const found = await waitFor(s, (x) => x.includes('find "**/app.yaml" in web: 1 path(s)'), 'the find results');
    expect(found).toMatch(/files\/etc\/app\.yaml\s+in 2 snapshot\(s\)/);
    keys(s, 'Enter');
    await waitFor(s, (x) => x.includes('· /files/etc') && x.includes('app.yaml'), 'the folder of the found file');

    // Mark it, restore it into a new folder: the dry run first, then y.
    keys(s, 'Space');
    await waitFor(s, (x) => x.includes('1 marked'), 'the mark');
    keys(s, 'r');
    await waitFor(s, (x) => x.includes('into folder:'), 'the restore form');
    const target = join(dir, 'restored');
    typeText(s, target);
    keys(s, 'Enter');
    const plan = await waitFor(s, (x) => x.includes('with --overwrite never? y / n'), 'the restore plan');
    expect(plan).toMatch(/dry run of restoring snapshot \w{8}/);
    expect(filesUnder(dir).filter((f) => f.startsWith(target))).toEqual([]);
    keys(s, 'y');
    await waitFor(s, (x) => /restored snapshot \w{8}/.test(x), 'the restore to finish');
    const restored = filesUnder(target);
    expect(restored).toHaveLength(1);
    expect(readFileSync(restored[0]!, 'utf8')).toBe('port: 9090\nworkers: 4\n');

    // Esc walks back out, a level at a time, to the dashboard.
    keys(s, 'Escape');
    await waitFor(s, (x) => /· \/files$/m.test(x) && x.includes('new.txt'), 'the source folder again');
    keys(s, 'Escape');
    await waitFor(s, (x) => /· \/\s*$/m.test(x), 'the snapshot root again');
    keys(s, 'Escape');
    await waitFor(s, (x) => x.includes('browse web · 2 snapshot(s)'), 'the snapshots again');
    keys(s, 'Escape');
    await waitFor(s, (x) => x.includes('▸ web') && !x.includes('browse web'), 'the dashboard again');
    keys(s, 'q');
    await waitFor(s, (x) => x.includes('console exited with 0'), 'the console to quit');
  }, 120_000);
});
