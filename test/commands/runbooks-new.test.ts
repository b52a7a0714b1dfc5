/**
 * `lifeboat runbooks new NAME [--from KIND] [--force]`, through the real CLI
 * in a temp folder: it writes a commented runbook that Lifeboat's own
 * validation accepts, with the editor schema line first, and never replaces
 * a file unless told to.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureCliBuilt, repoRoot, runCli } from '../helpers/cli.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

const tempDir = useTempDirs('runbooks-new');

beforeAll(ensureCliBuilt, 120_000);

describe('runbooks new', () => {
  it.each(['folder', 'postgres', 'mysql', 's3'])('--from %s writes a runbook that `runbooks validate` accepts', async (kind) => {
    const cwd = await tempDir();
    const name = `app-${kind}`;
    const made = await runCli(['runbooks', 'new', name, '--from', kind], { cwd });
    expect(made.stderr).toBe('');
    expect(made.code).toBe(0);
    const file = join(cwd, 'runbooks', `${name}.yaml`);
    expect(made.stdout).toContain(`Wrote ${file} (a ${kind} runbook)`);
    const text = await readFile(file, 'utf8');
    // The first line points editors at the schema shipped with this Lifeboat.
    const first = text.split('\n')[0]!;
    expect(first).toMatch(/^# yaml-language-server: \$schema=\S+$/);
    expect(resolve(dirname(file), first.replace(/^.*\$schema=/, ''))).toBe(join(repoRoot, 'schema/runbook.schema.json'));
    expect(text).toContain(`name: ${name}`);
    const validate = await runCli(['runbooks', 'validate', name], { cwd });
    expect(validate.stderr).toBe('');
    expect(validate.stdout).toContain('1 runbook file(s) valid');
    expect(validate.code).toBe(0);
  });

  it('starts from a folder by default, and the new runbook backs up once its path exists', async () => {
    const cwd = await tempDir();
    expect((await runCli(['runbooks', 'new', 'files'], { cwd })).code).toBe(0);
    const file = join(cwd, 'runbooks', 'files.yaml');
    const text = await readFile(file, 'utf8');
    expect(text).toContain('path: /srv/data');
    const data = join(cwd, 'data');
    await mkdir(data);
    await writeFile(join(data, 'a.txt'), 'hello\n');
    await writeFile(file, text.replace('path: /srv/data', `path: ${JSON.stringify(data)}`));
    const init = await runCli(['init', 'files'], { cwd });
    expect(init.code, init.stderr).toBe(0);
    const backup = await runCli(['backup', 'files'], { cwd });
    expect(backup.code, backup.stderr).toBe(0);
    // The generated key lives in the state folder, as the comment in the file says.
    expect(existsSync(join(cwd, '.lifeboat', 'keys', 'files.key'))).toBe(true);
  });

  it('writes into the runbooks folder lifeboat.yaml names', async () => {
    const root = await tempDir();
    await mkdir(join(root, 'ops'));
    await mkdir(join(root, 'elsewhere'));
    await writeFile(join(root, 'ops', 'lifeboat.yaml'), 'runbooks: books\n');
    const made = await runCli(['runbooks', 'new', 'orders', '--from', 'postgres'], { cwd: join(root, 'elsewhere'), env: { LIFEBOAT_CONFIG: join(root, 'ops', 'lifeboat.yaml') } });
    expect(made.code, made.stderr).toBe(0);
    expect(existsSync(join(root, 'ops', 'books', 'orders.yaml'))).toBe(true);
    expect(existsSync(join(root, 'elsewhere', 'runbooks'))).toBe(false);
  });

  it('refuses to replace an existing file (exit 2, file untouched) unless --force', async () => {
    const cwd = await tempDir();
    await mkdir(join(cwd, 'runbooks'));
    const file = join(cwd, 'runbooks', 'orders.yaml');
    await writeFile(file, 'mine\n');
    const refused = await runCli(['runbooks', 'new', 'orders', '--from', 'postgres'], { cwd });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`${file} exists already (nothing was written; --force replaces it)`);
    expect(await readFile(file, 'utf8')).toBe('mine\n');
    const forced = await runCli(['runbooks', 'new', 'orders', '--from', 'postgres', '--force'], { cwd });
    expect(forced.code, forced.stderr).toBe(0);
    expect(await readFile(file, 'utf8')).toContain('pg_dump');
    // A .yml of the same name would define the runbook twice, --force or not.
    await writeFile(join(cwd, 'runbooks', 'other.yml'), 'mine\n');
    const twin = await runCli(['runbooks', 'new', 'other', '--force'], { cwd });
    expect(twin.code).toBe(2);
    expect(twin.stderr).toContain(`${join(cwd, 'runbooks', 'other.yml')} exists already: runbook "other" is defined there`);
    expect(existsSync(join(cwd, 'runbooks', 'other.yaml'))).toBe(false);
  });

  it('checks the name by the rule runbook names follow, and --from against the kinds it knows (exit 2)', async () => {
    const cwd = await tempDir();
    const bad = await runCli(['runbooks', 'new', 'App_Data'], { cwd });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('Not a kebab-case name: "App_Data" (expected lowercase letters, digits and single hyphens, e.g. app-data)');
    const kind = await runCli(['runbooks', 'new', 'x', '--from', 'oracle'], { cwd });
    expect(kind.code).toBe(2);
    expect(kind.stderr).toContain('--from must be one of folder, postgres, mysql, s3 (got "oracle")');
    const none = await runCli(['runbooks', 'new'], { cwd });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('`runbooks new` takes one name');
    const stray = await runCli(['runbooks', 'list', '--from', 'postgres'], { cwd });
    expect(stray.code).toBe(2);
    expect(stray.stderr).toContain('--from and --force go with `runbooks new`');
    expect(existsSync(join(cwd, 'runbooks'))).toBe(false);
  });

  it('writes a name YAML would read as something else ("null", "123") quoted, so it still validates', async () => {
    const cwd = await tempDir();
    for (const name of ['null', '123']) {
      expect((await runCli(['runbooks', 'new', name], { cwd })).code).toBe(0);
      expect(await readFile(join(cwd, 'runbooks', `${name}.yaml`), 'utf8')).toContain(`name: "${name}"`);
    }
    const validate = await runCli(['runbooks', 'validate'], { cwd });
    expect(validate.stdout).toContain('2 runbook file(s) valid');
    expect(validate.code, validate.stderr).toBe(0);
  });
});
