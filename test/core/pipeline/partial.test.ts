/**
 * One failing source does not sink the others (issue 5, "Must show" 1), and
 * hooks: `before` output lands in the run record, `after` always runs and sees
 * the outcome; a failing `before` hook fails the run before anything is written.
 * Real CLI processes, real files.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureCliBuilt, runCli } from '../../helpers/cli.js';
import { expectSameManifest, manifestOf } from '../../helpers/fs-manifest.js';
import { runsOf, stageOf } from '../../helpers/pipeline-process.js';
import { pipelineEnv, writePipelineRunbook } from '../../helpers/pipeline-runbook.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';

const tempDir = useTempDirs('pipeline-partial');

beforeAll(ensureCliBuilt);

/** `KEY=value` lines of a file written by `env > file`. */
async function envFile(path: string): Promise<Map<string, string>> {
  const text = await readFile(path, 'utf8');
  return new Map(text.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

describe('a run with a failing stream source', () => {
  it('is partial (exit 3): the failure is named with its stderr tail, hooks see it, the rest restores identically', async () => {
    const base = await tempDir();
    const files = join(base, 'files');
    await mkdir(join(files, 'nested/deeper'), { recursive: true });
    await writeFile(join(files, 'README.md'), '# app data\n');
    await writeFile(join(files, 'nested/config.json'), JSON.stringify({ a: 1, b: [1, 2, 3] }));
    await writeFile(join(files, 'nested/deeper/data.bin'), randomBytes(300 * 1024));
    // The good stream is binary: NULs, CR/LF, bytes ≥ 0x80 — a pty or text decoding would change it.
    const streamBytes = Buffer.concat([Buffer.from([0, 13, 10, 255, 254, 27, 0]), randomBytes(200 * 1024), Buffer.from('\r\n\x00end')]);
    await writeFile(join(base, 'stream-input.bin'), streamBytes);

    const runbook = writePipelineRunbook(base, 'mixed', {
      repo: join(base, 'repo'),
      sources: [
        { name: 'files', path: 'files' },
        {
          name: 'orders-db',
          // Some output first: what a failing dump wrote must not pass for a backup.
          command: "printf 'half a dump'; echo 'pg_dump: connecting to orders' >&2; echo 'pg_dump: error: connection refused (port 5432)' >&2; exit 3",
          restore: 'cat > /dev/null',
        },
        { name: 'events', command: 'cat stream-input.bin', restore: 'cat > events.bin' },
      ],
      hooks: {
        before: ['echo "before: quiescing the app"', 'test -t 1 && echo "before: on a terminal"'],
        after: ['env > after.env'],
      },
    });
    const env = pipelineEnv(join(base, 'home'));
    expect((await runCli(['init', runbook], { env })).code).toBe(0);

    const backup = await runCli(['backup', runbook], { env });
    expect(backup.code, backup.stdout + backup.stderr).toBe(3);
    expect(backup.stderr).toMatch(/failed: source orders-db: .*exited with 3; stderr: .*connection refused \(port 5432\)/s);

    const [run, ...older] = await runsOf(join(base, 'home'), 'mixed');
    expect(older).toHaveLength(0);
    expect(run!.status).toBe('partial');
    expect(run!.failedSources).toHaveLength(1);
    const failed = run!.failedSources![0]!;
    expect(failed.name).toBe('orders-db');
    expect(failed.error.code).toBe('SOURCE_FAILED');
    expect(failed.error.message).toContain('exited with 3');
    // The tail of stderr, in order, both lines.
    expect(failed.error.message).toContain('stderr: pg_dump: connecting to orders\npg_dump: error: connection refused (port 5432)');
    // Every stage recorded; the snapshot stage says which part failed, the others completed.
    expect(run!.stages.map((s) => [s.name, s.status])).toEqual([
      ['hooks', 'succeeded'],
      ['discover', 'succeeded'],
      ['snapshot', 'partial'],
      ['transfer', 'succeeded'],
      ['verify', 'succeeded'],
      ['retention', 'skipped'],
    ]);
    expect(stageOf(run!, 'snapshot')!.error?.message).toContain('orders-db');
    expect(run!.snapshotId).toMatch(/^[0-9a-f]{64}$/);

    // Hooks: before output kept in the record (and run on a terminal); after saw the outcome, not the password.
    expect(run!.hookOutput).toEqual(expect.arrayContaining([expect.stringContaining('before: quiescing the app'), expect.stringContaining('before: on a terminal')]));
    const afterEnv = await envFile(join(base, 'after.env'));
    expect(afterEnv.get('LIFEBOAT_RUN_STATUS')).toBe('partial');
    expect(afterEnv.get('LIFEBOAT_RUNBOOK')).toBe('mixed');
    expect(afterEnv.get('LIFEBOAT_RUN_ID')).toBe(run!.id);
    expect(afterEnv.get('LIFEBOAT_SNAPSHOT_ID')).toBe(run!.snapshotId);
    expect(afterEnv.has('LIFEBOAT_PASSWORD')).toBe(false);

    // The snapshot holds the two good sources only, and they restore identically.
    const list = await runCli(['snapshots', runbook, '--json'], { env });
    const snaps = (JSON.parse(list.stdout) as { data: { id: string; sources: { name: string; kind: string }[] }[] }).data;
    expect(snaps.map((s) => s.id)).toEqual([run!.snapshotId]);
    expect(snaps[0]!.sources.map((s) => s.name).sort()).toEqual(['events', 'files']);

    const target = join(base, 'restored');
    const restore = await runCli(['restore', runbook, run!.snapshotId!.slice(0, 8), '--target', target], { env });
    expect(restore.code, restore.stderr).toBe(0);
    expectSameManifest(await manifestOf(join(target, 'files')), await manifestOf(files));
    expect((await readFile(join(target, 'events'))).equals(streamBytes)).toBe(true);
    await expect(readFile(join(target, 'orders-db'))).rejects.toMatchObject({ code: 'ENOENT' });

    const check = await runCli(['check', runbook, '--read-data'], { env });
    expect(check.code, check.stdout + check.stderr).toBe(0);
  });
});

describe('a failing before hook', () => {
  it('fails the run before anything is written; the after hook still runs and sees "failed"', async () => {
    const base = await tempDir();
    await mkdir(join(base, 'files'));
    await writeFile(join(base, 'files/a.txt'), 'a\n');
    const runbook = writePipelineRunbook(base, 'gated', {
      repo: join(base, 'repo'),
      sources: [{ name: 'files', path: 'files' }, { name: 'dump', command: 'touch stream-ran; echo data' }],
      hooks: {
        before: ['echo "before: app refuses to quiesce"; exit 7', 'touch second-before-ran'],
        after: ['echo "$LIFEBOAT_RUN_STATUS" > after-status.txt; echo "$LIFEBOAT_RUN_ERROR" > after-error.txt'],
      },
    });
    const env = pipelineEnv(join(base, 'home'));
    expect((await runCli(['init', runbook], { env })).code).toBe(0);

    const backup = await runCli(['backup', runbook], { env });
    expect(backup.code, backup.stdout + backup.stderr).toBe(1);

    const [run] = await runsOf(join(base, 'home'), 'gated');
    expect(run!.status).toBe('failed');
    expect(run!.snapshotId).toBeUndefined();
    expect(run!.error?.message).toMatch(/before/);
    // Only the hooks stage ran; it failed and says so.
    expect(run!.stages.map((s) => [s.name, s.status])).toEqual([['hooks', 'failed']]);
    expect(stageOf(run!, 'hooks')!.error).toBeDefined();
    expect(run!.hookOutput).toEqual(expect.arrayContaining([expect.stringContaining('before: app refuses to quiesce')]));

    // Nothing after the failing hook ran: not the next before hook, not the sources.
    await expect(readFile(join(base, 'second-before-ran'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(readFile(join(base, 'stream-ran'))).rejects.toMatchObject({ code: 'ENOENT' });
    const list = await runCli(['snapshots', runbook, '--json'], { env });
    expect((JSON.parse(list.stdout) as { data: unknown[] }).data).toEqual([]);

    expect((await readFile(join(base, 'after-status.txt'), 'utf8')).trim()).toBe('failed');
    expect((await readFile(join(base, 'after-error.txt'), 'utf8')).trim()).not.toBe('');
  });
});
