/** The real CLI binary end to end: help, usage errors, runbook validation, and init → backup → snapshots → restore. */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureCliBuilt, repoRoot, runCli, writeRunbook } from '../helpers/cli.js';
import { expectSameManifest, manifestOf } from '../helpers/fs-manifest.js';
import { makeRichTree } from '../helpers/fixture-tree.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

const tempDir = useTempDirs('e2e-cli');
const repoCommands = ['init', 'backup', 'snapshots', 'restore', 'check'];

beforeAll(ensureCliBuilt);

describe('lifeboat CLI', () => {
  it('--help lists the commands, and every command has its own --help', async () => {
    const res = await runCli(['--help']);
    expect(res.code).toBe(0);
    const listed = [...res.stdout.matchAll(/^ {2}([a-z-]+) {2,}\S/gm)].map((m) => m[1]!);
    expect(listed).toEqual(expect.arrayContaining([...repoCommands, 'runbooks']));
    const helps = await Promise.all(listed.map((name) => runCli([name, '--help'])));
    helps.forEach((h, i) => {
      expect(h.code, `${listed[i]} --help: ${h.stderr}`).toBe(0);
      expect(h.stdout).toMatch(new RegExp(`^Usage: lifeboat ${listed[i]}\\b`));
    });
  });

  it('exits 2 for an unknown command and for restore without --target', async () => {
    const [unknown, restore] = await Promise.all([runCli(['bogus']), runCli(['restore', 'demo'])]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command "bogus"/);
    expect(restore.code).toBe(2);
    expect(restore.stderr).toMatch(/--target DIR is required/);
  });

  it('runbooks validate passes on the shipped runbooks and gives file:line:col for a bad one (exit 2)', async () => {
    const home = await tempDir();
    const shipped = (await readdir(join(repoRoot, 'runbooks'))).filter((f) => f.endsWith('.yaml')).map((f) => join('runbooks', f));
    expect(shipped.length).toBeGreaterThan(0);
    const bad = join(home, 'bad.yaml');
    await writeFile(bad, ['name: bad', 'owner: "@x"', 'sources:', '  - { name: data, path: /tmp }', 'repository:', '  hot: { url: "file:///tmp/r" }', '  password: { env: P }', 'objectives: { rpo: 5x, rto: 5m }', ''].join('\n'));
    const env = { LIFEBOAT_HOME: home };
    const [ok, res, backup] = await Promise.all([
      runCli(['runbooks', 'validate', ...shipped], { env }),
      runCli(['runbooks', 'validate', bad], { env }),
      // Any command given the bad file refuses it the same way.
      runCli(['backup', bad], { env }),
    ]);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(res.code).toBe(2);
    expect(res.stdout + res.stderr).toContain(`${bad}:8:20: objectives.rpo: Unknown duration: "5x"`);
    expect(backup.code).toBe(2);
    expect(backup.stderr).toMatch(new RegExp(`${bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:\\d+:\\d+: `));
  });

  it('init, backup, snapshots --json, restore --target: a byte- and metadata-identical round trip', async () => {
    const base = await tempDir();
    const src = join(base, 'src');
    await mkdir(src);
    await makeRichTree(src, { outside: join(base, 'elsewhere'), bigSize: 1024 * 1024 + 1 });
    const runbook = writeRunbook(base, 'e2e', { source: src, repo: join(base, 'repo') });
    const env = { LIFEBOAT_PASSWORD: 'e2e password', LIFEBOAT_HOME: join(base, 'home') };

    const init = await runCli(['init', runbook], { env });
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout).toMatch(/created repository [0-9a-f]{8} at /);
    const again = await runCli(['init', runbook], { env });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already exists/);

    const backup = await runCli(['backup', runbook], { env });
    expect(backup.code, backup.stderr).toBe(0);
    const second = await runCli(['backup', runbook], { env });
    expect(second.code, second.stderr).toBe(0);

    const list = await runCli(['snapshots', runbook, '--json'], { env });
    expect(list.code).toBe(0);
    const snaps = (JSON.parse(list.stdout) as { data: { id: string; parent?: string; runbook: string }[] }).data;
    expect(snaps).toHaveLength(2);
    expect(snaps[1]!.parent).toBe(snaps[0]!.id);
    expect(snaps.every((s) => s.runbook === 'e2e')).toBe(true);

    const target = join(base, 'restored');
    const part = join(base, 'part');
    const [restore, sub, check, live] = await Promise.all([
      runCli(['restore', runbook, snaps[0]!.id.slice(0, 8), '--target', target], { env }),
      runCli(['restore', runbook, '--target', part, '--path', 'data/nested/l1'], { env }),
      runCli(['check', runbook, '--read-data'], { env }),
      // Restoring over the live source is refused as bad usage.
      runCli(['restore', runbook, '--target', base], { env }),
    ]);
    expect(restore.code, restore.stderr).toBe(0);
    expectSameManifest(await manifestOf(join(target, 'data')), await manifestOf(src));
    expect(sub.code, sub.stderr).toBe(0);
    expectSameManifest(await manifestOf(join(part, 'data/nested/l1')), await manifestOf(join(src, 'nested/l1')));
    expect(check.code, check.stderr).toBe(0);
    expect(check.stdout).toMatch(/no errors: 2 snapshots/);
    expect(live.code).toBe(2);
    expect(live.stderr).toMatch(/holds the live source/);
  });
});
