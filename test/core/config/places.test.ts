/**
 * Where state and runbooks live: `home:` and `runbooks:` in lifeboat.yaml,
 * relative to that file's folder, under LIFEBOAT_HOME / LIFEBOAT_RUNBOOKS and
 * over the ./.lifeboat, ./runbooks defaults. The CLI cases run the real CLI
 * from a folder that is not the one lifeboat.yaml is in.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkConfigText } from '../../../src/core/config/load.js';
import { formatIssue, resolvePlaces } from '../../../src/core/index.js';
import { ensureCliBuilt, runCli, writeRunbook } from '../../helpers/cli.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';

const tempDir = useTempDirs('places');

describe('home: and runbooks: in lifeboat.yaml', () => {
  it('resolves relative folders against the folder lifeboat.yaml is in, absolute ones as written', () => {
    const check = checkConfigText('home: state\nrunbooks: /etc/lifeboat/runbooks\n', '/srv/ops/lifeboat.yaml', '/somewhere/else');
    expect(check.issues).toEqual([]);
    expect(check.config?.home).toBe('/srv/ops/state');
    expect(check.config?.runbooks).toBe('/etc/lifeboat/runbooks');
  });

  it('refuses a value that is not a usable path, naming the file, the line and the key', () => {
    const issues = (text: string) => checkConfigText(text, '/srv/ops/lifeboat.yaml', '/srv/ops').issues.map(formatIssue);
    expect(issues('home: ""\n')).toEqual(['lifeboat.yaml:1:7: home: Empty path (expected the state folder: an absolute path or one relative to lifeboat.yaml)']);
    expect(issues('home:\n')).toEqual(['lifeboat.yaml:1:1: home: Empty value (expected text)']);
    expect(issues('runbooks: [a, b]\n')).toEqual(['lifeboat.yaml:1:11: runbooks: Got a list (expected text)']);
    expect(issues('runbooks: 12\n')).toEqual(['lifeboat.yaml:1:11: runbooks: Got 12 (expected text)']);
    expect(issues('runbooks: ~/runbooks\n')).toEqual([
      'lifeboat.yaml:1:11: runbooks: "~" is not expanded (expected the runbooks folder: an absolute path or one relative to lifeboat.yaml)',
    ]);
    expect(issues('home: $STATE/lifeboat\n')).toEqual([
      'lifeboat.yaml:1:7: home: Variables are not expanded: "$STATE/lifeboat" (expected the state folder: an absolute path or one relative to lifeboat.yaml)',
    ]);
    expect(issues('hom: /var/lib/lifeboat\n')).toEqual(['lifeboat.yaml:1:1: hom: Unknown field (did you mean "home"?)']);
  });

  it('is overridden by LIFEBOAT_HOME and LIFEBOAT_RUNBOOKS, and falls back to ./.lifeboat and ./runbooks', () => {
    const config = { home: '/srv/ops/state', runbooks: '/srv/ops/runbooks' };
    expect(resolvePlaces({ config, env: {}, cwd: '/work' })).toMatchObject({ home: '/srv/ops/state', runbooksDir: '/srv/ops/runbooks', from: { home: 'config', runbooksDir: 'config' } });
    expect(resolvePlaces({ config, env: { LIFEBOAT_HOME: 'here', LIFEBOAT_RUNBOOKS: '/books' }, cwd: '/work' })).toMatchObject({
      home: '/work/here',
      runbooksDir: '/books',
      from: { home: 'env', runbooksDir: 'env' },
    });
    // An empty variable is unset, not "the working folder".
    expect(resolvePlaces({ config, env: { LIFEBOAT_HOME: '' }, cwd: '/work' }).home).toBe('/srv/ops/state');
    expect(resolvePlaces({ config: undefined, env: {}, cwd: '/work' })).toMatchObject({ home: '/work/.lifeboat', runbooksDir: '/work/runbooks', from: { home: 'default', runbooksDir: 'default' } });
  });
});

describe('the CLI started from another folder', () => {
  beforeAll(ensureCliBuilt, 120_000);

  /** /ops/lifeboat.yaml with `home: state` and `runbooks: books`, one runbook in books/, and an unrelated working folder. */
  async function setUp() {
    const root = await tempDir();
    const ops = join(root, 'ops');
    const elsewhere = join(root, 'elsewhere');
    await mkdir(join(ops, 'books'), { recursive: true });
    await mkdir(join(ops, 'data'), { recursive: true });
    await mkdir(elsewhere);
    await writeFile(join(ops, 'data', 'a.txt'), 'hello\n');
    writeRunbook(join(ops, 'books'), 'files', { source: join(ops, 'data'), repo: join(root, 'repo') });
    await writeFile(join(ops, 'lifeboat.yaml'), 'home: state\nrunbooks: books\n');
    const env = { LIFEBOAT_CONFIG: join(ops, 'lifeboat.yaml'), LIFEBOAT_PASSWORD: 'correct horse' };
    return { root, ops, elsewhere, env };
  }

  it('finds the runbooks and keeps its state where lifeboat.yaml says, not in the working folder', async () => {
    const { ops, elsewhere, env } = await setUp();
    const list = await runCli(['runbooks', 'list'], { cwd: elsewhere, env });
    expect(list.stderr).toBe('');
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(`1 runbook in ${join(ops, 'books')}`);
    const init = await runCli(['init', 'files'], { cwd: elsewhere, env });
    expect(init.code, init.stderr).toBe(0);
    const backup = await runCli(['backup', 'files'], { cwd: elsewhere, env });
    expect(backup.code, backup.stderr).toBe(0);
    expect(existsSync(join(ops, 'state'))).toBe(true);
    expect(existsSync(join(elsewhere, '.lifeboat'))).toBe(false);
    const history = await runCli(['history', 'files', '--json'], { cwd: elsewhere, env });
    expect(history.code, history.stderr).toBe(0);
    expect((JSON.parse(history.stdout) as { data: unknown[] }).data).toHaveLength(1);
  });

  it('lets LIFEBOAT_RUNBOOKS and LIFEBOAT_HOME win over lifeboat.yaml', async () => {
    const { root, ops, elsewhere, env } = await setUp();
    const other = join(root, 'other-books');
    await mkdir(other);
    writeRunbook(other, 'other', { source: join(ops, 'data'), repo: join(root, 'repo2') });
    const list = await runCli(['runbooks', 'list', '--json'], { cwd: elsewhere, env: { ...env, LIFEBOAT_RUNBOOKS: other } });
    expect(list.code, list.stderr).toBe(0);
    expect((JSON.parse(list.stdout) as { data: Array<{ name: string }> }).data.map((e) => e.name)).toEqual(['other']);
    const init = await runCli(['init', 'files'], { cwd: elsewhere, env: { ...env, LIFEBOAT_HOME: 'own-state' } });
    expect(init.code, init.stderr).toBe(0);
    const backup = await runCli(['backup', 'files'], { cwd: elsewhere, env: { ...env, LIFEBOAT_HOME: 'own-state' } });
    expect(backup.code, backup.stderr).toBe(0);
    expect(existsSync(join(elsewhere, 'own-state'))).toBe(true);
    expect(existsSync(join(ops, 'state'))).toBe(false);
  });

  it('refuses a bad home: with the file, line and key, exit 2, before doing anything', async () => {
    const { ops, elsewhere, env } = await setUp();
    await writeFile(join(ops, 'lifeboat.yaml'), 'home: ""\nrunbooks: books\n');
    const res = await runCli(['status'], { cwd: elsewhere, env });
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(`${join(ops, 'lifeboat.yaml')}:1:7: home: Empty path (expected the state folder: an absolute path or one relative to lifeboat.yaml)`);
    expect(existsSync(join(elsewhere, '.lifeboat'))).toBe(false);
  });
});
