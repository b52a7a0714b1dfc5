/**
 * Where the state lives, as a user met it (issue 21), through the real CLI:
 * - read-only commands run from a folder with no state create no `.lifeboat`;
 *   with no runbooks either, status, history and audit say where they looked
 *   and exit 2; with runbooks, status shows them as never run;
 * - a state file that cannot be read or written (a folder in its place,
 *   garbage in it, a full disk) is named, with what happened and what to do;
 *   a run that cannot be recorded says so, and the command fails.
 */
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensureCliBuilt, repoRoot, runCli, runProgram } from '../helpers/cli.js';
import { PIPELINE_PASSWORD, pipelineEnv, writePipelineRunbook } from '../helpers/pipeline-runbook.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

const tempDir = useTempDirs('state-places');

/** The CLI run from `cwd` with no LIFEBOAT_HOME or LIFEBOAT_RUNBOOKS: the defaults, ./.lifeboat and ./runbooks. */
const inFolder = (cwd: string, args: string[]) => runCli(args, { cwd, env: { LIFEBOAT_PASSWORD: PIPELINE_PASSWORD } });

describe('read-only commands in a folder with no state', () => {
  it('create nothing; with no runbooks either, status, history and audit say where they looked and exit 2', async () => {
    await ensureCliBuilt();
    const dir = await tempDir();
    const expected =
      `lifeboat: Nothing here: no state at ${join(dir, '.lifeboat', 'state.json')} and no runbooks in ${join(dir, 'runbooks')}. ` +
      'Run Lifeboat from the folder that holds them, or set home and runbooks in lifeboat.yaml (or LIFEBOAT_HOME and LIFEBOAT_RUNBOOKS).';
    for (const command of ['status', 'history', 'audit']) {
      const res = await inFolder(dir, [command]);
      expect(res.code, `${command}: ${res.stderr}`).toBe(2);
      expect(res.stderr.trim(), command).toBe(expected);
      expect(res.stdout, command).toBe('');
    }
    // No command at all, headless, is status.
    expect((await inFolder(dir, [])).code).toBe(2);
    for (const args of [['alerts'], ['schedule'], ['history', '--kind', 'drill', '--json'], ['status', '--json']]) {
      await inFolder(dir, args);
    }
    expect(await readdir(dir)).toEqual([]);
  });

  it('with runbooks and no state: status shows them never run, says nothing is recorded yet, and creates nothing; the first backup creates the state', async () => {
    await ensureCliBuilt();
    const dir = await tempDir();
    const data = await tempDir();
    await writeFile(join(data, 'a.txt'), 'a\n');
    await mkdir(join(dir, 'runbooks'));
    writePipelineRunbook(join(dir, 'runbooks'), 'app-data', { repo: join(data, 'repo'), sources: [{ name: 'data', path: data }] });
    const status = await inFolder(dir, ['status']);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/^app-data\s+never\s/m);
    expect(status.stdout + status.stderr).toContain(`nothing recorded yet in ${join(dir, '.lifeboat', 'state.json')}`);
    // The repository's own commands read the repository, not the state: nothing here either.
    const init = await runCli(['init', 'app-data'], { cwd: dir, env: pipelineEnv(join(data, 'elsewhere')) });
    expect(init.code, init.stderr).toBe(0);
    for (const args of [['snapshots', 'app-data'], ['history', 'app-data'], ['audit', '--runbook', 'app-data']]) {
      const res = await inFolder(dir, args);
      expect(res.code, `${args.join(' ')}: ${res.stderr}`).toBe(0);
    }
    expect(await readdir(dir)).toEqual(['runbooks']);
    const backup = await inFolder(dir, ['backup', 'app-data']);
    expect(backup.code, backup.stderr).toBe(0);
    expect((await readdir(join(dir, '.lifeboat'))).sort()).toContain('state.json');
  });
});

describe('a state file that cannot be read or written', () => {
  /** A runbook and a state folder of its own; returns what a CLI call needs. */
  async function setUp() {
    await ensureCliBuilt();
    const base = await tempDir();
    await mkdir(join(base, 'src'));
    await writeFile(join(base, 'src', 'a.txt'), 'a\n');
    const runbook = writePipelineRunbook(base, 'placed', { repo: join(base, 'repo'), sources: [{ name: 'data', path: join(base, 'src') }] });
    const home = join(base, 'home');
    const env = pipelineEnv(home);
    const init = await runCli(['init', runbook], { env });
    expect(init.code, init.stderr).toBe(0);
    return { base, runbook, home, env, state: join(home, 'state.json') };
  }

  it('state.json is a folder: the command names it, says it is a folder and how to move it, and fails', async () => {
    const { env, state } = await setUp();
    // init wrote its audit entry there; a folder takes the file's place.
    await rm(state);
    await mkdir(state);
    const res = await runCli(['history'], { env });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`Could not read the state file ${state}: ${state} is a folder, not a file.`);
    expect(res.stderr).toContain(`mv '${state}' '${state}.folder'`);
    expect(res.stderr).not.toMatch(/EISDIR: illegal operation/);
  });

  it('garbage in state.json: the command names the file, what is wrong and the mv that starts over, not an internal function', async () => {
    const { env, state, home } = await setUp();
    await mkdir(home, { recursive: true });
    await writeFile(state, 'garbage\n');
    const res = await runCli(['status'], { env });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`State file ${state} is damaged: not valid JSON`);
    expect(res.stderr).toContain(`mv '${state}' '${state}.corrupt-$(date +%s)'`);
    expect(res.stderr).not.toMatch(/recoverCorruptStore|\(\)/);
    expect(await readFile(state, 'utf8')).toBe('garbage\n');
  });

  it('a full disk (a real ENOSPC, from /dev/full): the backup says it could not be recorded, where and why, and fails', async () => {
    const { runbook, env, home, state } = await setUp();
    await mkdir(home, { recursive: true });
    // The CLI writes the state file's next version to state.json.tmp-<its pid> and renames it; `exec` keeps
    // the shell's pid, so that temp name can point at /dev/full, where every write fails with ENOSPC.
    const res = await runProgram('/bin/sh', ['-c', `ln -s /dev/full "${state}.tmp-$$" && exec "$0" "$@"`, process.execPath, join(repoRoot, 'bin/lifeboat.js'), 'backup', runbook], { env });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(
      new RegExp(
        `Could not write the state file ${state} to record the start of the backup run \\S+ of placed: ` +
          `the filesystem that holds ${home} is full \\(ENOSPC\\)\\. The state file keeps what it held before this write\\. Free space there`,
      ),
    );
    // Not a bare errno without a place.
    expect(res.stderr).not.toMatch(/^.*ENOSPC: no space left on device, write.*$/m);
  });
});
