/**
 * The shipped examples (runbooks/examples/) by name, `examples/NAME`, from any
 * folder, through the real CLI: each validates; and one written for another
 * machine is refused before any hook runs or anything is recorded.
 */
import { existsSync, readdirSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureCliBuilt, repoRoot, runCli } from '../helpers/cli.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

const tempDir = useTempDirs('runbooks-examples');
const examples = readdirSync(join(repoRoot, 'runbooks/examples'))
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => f.replace(/\.yaml$/, ''));

beforeAll(ensureCliBuilt, 120_000);

/** A working folder of its own, and a PATH whose pg_isready leaves a mark when a hook runs it. */
async function setUp() {
  const cwd = await tempDir();
  const bin = join(cwd, 'bin');
  await mkdir(bin);
  const mark = join(cwd, 'hook-ran');
  await writeFile(join(bin, 'pg_isready'), `#!/bin/sh\ntouch ${JSON.stringify(mark)}\nexit 2\n`);
  await chmod(join(bin, 'pg_isready'), 0o755);
  return { cwd, mark, env: { PATH: `${bin}:${process.env.PATH ?? ''}` } };
}

describe('shipped examples by name', () => {
  it('ships examples', () => {
    expect(examples).toEqual(expect.arrayContaining(['cold-tier', 'postgres-to-s3']));
  });

  it.each(examples)('examples/%s validates by name from any folder', async (name) => {
    const { cwd } = await setUp();
    const res = await runCli(['runbooks', 'validate', `examples/${name}`], { cwd });
    expect(res.stderr).toBe('');
    expect(res.stdout).toContain('1 runbook file(s) valid');
    expect(res.code).toBe(0);
  });

  it('names the examples there are, and the nearest, when one is not found (exit 2)', async () => {
    const { cwd } = await setUp();
    const res = await runCli(['runbooks', 'validate', 'examples/cold-teir'], { cwd });
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(`No example named "examples/cold-teir" in ${join(repoRoot, 'runbooks/examples')} (available: `);
    expect(res.stderr).toContain('examples/postgres-to-s3');
    expect(res.stderr).toContain('did you mean "examples/cold-tier"?');
  });

  it('stay out of the live runbooks: runbooks list does not show them', async () => {
    const res = await runCli(['runbooks', 'list', '--json'], { cwd: repoRoot, env: { LIFEBOAT_HOME: await tempDir() } });
    expect(res.code, res.stderr).toBe(0);
    const names = (JSON.parse(res.stdout) as { data: Array<{ name: string }> }).data.map((e) => e.name);
    for (const name of examples) expect(names).not.toContain(name);
  });

  it('backup of an example without its password stops before the before hook: exit 2, no run, no alert', async () => {
    const { cwd, mark, env } = await setUp();
    for (const ref of ['examples/postgres-to-s3', join(repoRoot, 'runbooks/examples/postgres-to-s3.yaml')]) {
      const res = await runCli(['backup', ref], { cwd, env });
      expect(res.code).toBe(2);
      expect(res.stderr).toContain(
        'examples/postgres-to-s3 is an example written for another machine: its repository password is not available (the environment variable ORDERS_BACKUP_PASSWORD is not set), so nothing was run. Start your own from it: lifeboat runbooks new NAME --from postgres',
      );
      expect(existsSync(mark)).toBe(false);
    }
    const alerts = await runCli(['alerts', '--json'], { cwd, env });
    expect(alerts.code, alerts.stderr).toBe(0);
    expect((JSON.parse(alerts.stdout) as { data: unknown[] }).data).toEqual([]);
  });

  it('init of an example whose key file is missing is refused the same way', async () => {
    const { cwd } = await setUp();
    const res = await runCli(['init', 'examples/cold-tier'], { cwd });
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('examples/cold-tier is an example written for another machine: its repository password is not available (the key file /etc/lifeboat/documents.key cannot be read)');
    expect(res.stderr).toContain('runbooks new NAME --from folder');
  });

  it('with its password there, an example runs like any runbook (its hook runs)', async () => {
    const { cwd, mark, env } = await setUp();
    const res = await runCli(['backup', 'examples/postgres-to-s3'], { cwd, env: { ...env, ORDERS_BACKUP_PASSWORD: 'correct horse' } });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('pg_isready --quiet');
    expect(existsSync(mark)).toBe(true);
  });
});
