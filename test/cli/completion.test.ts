/**
 * `lifeboat completion bash|zsh|fish`, generated from the command specs: bash
 * loads it and completes commands, flags and runbook names from the runbooks
 * folder; zsh and fish check its syntax where they are installed, and every
 * script names every command and host either way.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { commands } from '../../commands/index.js';
import { hosts } from '../../src/cli/hosts.js';
import { ensureCliBuilt, repoRoot, runCli } from '../helpers/cli.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

const tempDir = useTempDirs('completion');
const names = [...commands.map((c) => c.name), ...hosts.map((h) => h.name)];
const bin = join(repoRoot, 'bin/lifeboat.js');

beforeAll(ensureCliBuilt);

const has = (shell: string): boolean => spawnSync('sh', ['-c', `command -v ${shell}`]).status === 0;

/** Ask bash's completion function for the words it offers after `line` (the last word is the one being completed). */
function bashComplete(script: string, line: string[], cwd: string, env: Record<string, string> = {}): string[] {
  const words = line.map((w) => `'${w}'`).join(' ');
  const res = spawnSync(
    'bash',
    ['-c', `source "$1"; COMP_WORDS=(${words}); COMP_CWORD=${line.length - 1}; _lifeboat; printf '%s\\n' "\${COMPREPLY[@]}"`, 'bash', script],
    { cwd, encoding: 'utf8', env: { PATH: process.env.PATH ?? '', ...env } },
  );
  expect(res.status, res.stderr).toBe(0);
  return res.stdout.split('\n').filter((w) => w !== '');
}

describe('lifeboat completion', () => {
  it('bash: `source <(lifeboat completion bash)` registers the completion', () => {
    const res = spawnSync('bash', ['-c', `source <("${process.execPath}" "${bin}" completion bash); complete -p lifeboat`], { encoding: 'utf8' });
    expect(res.status, res.stderr).toBe(0);
    expect(res.stdout.trim()).toBe('complete -F _lifeboat lifeboat');
  });

  it('bash completes commands, a command\'s flags and runbook names read from the runbooks folder at Tab time', async () => {
    const cwd = await tempDir();
    const script = join(cwd, 'lifeboat.bash');
    const res = await runCli(['completion', 'bash']);
    expect(res.code, res.stderr).toBe(0);
    await writeFile(script, res.stdout);
    await mkdir(join(cwd, 'runbooks'));
    await writeFile(join(cwd, 'runbooks', 'orders-db.yaml'), 'name: orders-db\n');
    await writeFile(join(cwd, 'runbooks', 'orders-files.yml'), 'name: orders-files\n');

    expect(bashComplete(script, ['lifeboat', 'snap'], cwd)).toEqual(['snapshots']);
    expect(bashComplete(script, ['lifeboat', ''], cwd)).toEqual(expect.arrayContaining([...names, 'completion', 'help']));
    expect(bashComplete(script, ['lifeboat', 'restore', 'orders-db', '--t'], cwd).sort()).toEqual(['--target', '--tier']);
    expect(bashComplete(script, ['lifeboat', 'backup', 'ord'], cwd).sort()).toEqual(['orders-db', 'orders-files']);
    // A runbook added after the script was loaded completes too; LIFEBOAT_RUNBOOKS points elsewhere.
    await mkdir(join(cwd, 'elsewhere'));
    await writeFile(join(cwd, 'elsewhere', 'web.yaml'), 'name: web\n');
    expect(bashComplete(script, ['lifeboat', 'check', 'w'], cwd, { LIFEBOAT_RUNBOOKS: join(cwd, 'elsewhere') })).toContain('web');
    expect(bashComplete(script, ['lifeboat', 'completion', ''], cwd)).toEqual(['bash', 'zsh', 'fish']);
  });

  it.each(['zsh', 'fish'] as const)('%s: names every command and host (its syntax checked where the shell is installed)', async (shell) => {
    const res = await runCli(['completion', shell]);
    expect(res.code, res.stderr).toBe(0);
    for (const name of names) expect(res.stdout, name).toMatch(new RegExp(`(?:'|-a )${name}(?::|\\b)`));
    expect(res.stdout).toMatch(shell === 'zsh' ? /--dry-run/ : /-l dry-run -s n/);
    expect(res.stdout).toContain('LIFEBOAT_RUNBOOKS');
    if (has(shell)) {
      const dir = await tempDir();
      const file = join(dir, `lifeboat.${shell}`);
      await writeFile(file, res.stdout);
      const check = spawnSync(shell, ['-n', file], { encoding: 'utf8' });
      expect(check.status, check.stderr).toBe(0);
      if (shell === 'fish') {
        // fish answers a completion request without a terminal: commands, flags and runbook names from the folder.
        await mkdir(join(dir, 'runbooks'));
        await writeFile(join(dir, 'runbooks', 'orders-db.yaml'), 'name: orders-db\n');
        const ask = (line: string) => spawnSync('fish', ['-c', `source ${file}; complete -C '${line}'`], { cwd: dir, encoding: 'utf8' }).stdout.split('\n').map((l) => l.split('\t')[0]);
        expect(ask('lifeboat snap')).toContain('snapshots');
        expect(ask('lifeboat restore x --ta')).toContain('--target');
        expect(ask('lifeboat backup ord')).toContain('orders-db');
      }
    } else {
      // Not installed here: the content check above is what runs; say so in the output rather than skip.
      console.info(`${shell} is not installed: checked the script's content only`);
    }
  });

  it('an unknown or missing shell is a usage error (exit 2)', async () => {
    const [unknown, missing] = await Promise.all([runCli(['completion', 'bsh']), runCli(['completion'])]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no completion for "bsh" (did you mean bash?); choose bash, zsh or fish');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('completion: missing <shell>');
  });
});
