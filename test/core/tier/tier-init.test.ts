/**
 * A runbook with a cold tier, as a new user meets it: `init` then the first
 * `backup`. `init` creates both repositories (the cold bucket too), so the
 * backup's tier stage finds the cold one and the run succeeds with no alert —
 * before, the cold bucket was made only by a later `tier` and the first
 * backup ended partial ("bucket does not exist"). Against s3rver.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/cli.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';
import { openColdDirect, writeTierRunbook, useTierS3rver } from '../../helpers/tier-runbook.js';
import { runsOf, s3Env, stageOf } from '../../integration/s3/harness.js';

const tempDir = useTempDirs('tier-init');
const s3 = useTierS3rver();

describe('init of a runbook with a cold tier', () => {
  it('creates hot and cold (and the cold bucket); the first backup succeeds with no alert; init again keeps cold', async () => {
    const [dir, home, hotDir, src] = await Promise.all([tempDir(), tempDir(), tempDir(), tempDir()]);
    await writeFile(join(src, 'a.txt'), 'first backup\n'.repeat(100));
    const bucket = `cold-${Math.random().toString(16).slice(2, 10)}`;
    const runbook = writeTierRunbook(dir, 'with-cold', { source: src, hotDir, endpoint: s3.server.endpoint, bucket, prefix: 'archive', tierSchedule: false });

    const init = await runCli(['init', runbook, '--json'], { env: s3Env(home) });
    expect(init.code, init.stderr).toBe(0);
    const made = JSON.parse(init.stdout) as { summary: string; data: { id: string; cold: { id: string; location: string; created: boolean } } };
    expect(made.data.cold).toMatchObject({ created: true, location: expect.stringContaining(`${bucket}/archive`) });
    expect(made.summary).toMatch(/cold repository [0-9a-f]{8} at .* created/);
    // The cold repository is really there, with its own key: the password opens it.
    const cold = await openColdDirect({ endpoint: s3.server.endpoint, bucket, prefix: 'archive' });
    expect(cold.config.id).toBe(made.data.cold.id);
    expect(cold.config.id).not.toBe(made.data.id);

    const backup = await runCli(['backup', runbook], { env: s3Env(home) });
    expect(backup.code, `${backup.stdout}${backup.stderr}`).toBe(0);
    const [run] = await runsOf(home, 'with-cold');
    expect(run!.status).toBe('succeeded');
    expect(stageOf(run!, 'tier').status).toBe('succeeded');
    const alerts = await runCli(['alerts', '--json'], { env: s3Env(home) });
    expect((JSON.parse(alerts.stdout) as { data: unknown[] }).data).toEqual([]);

    // init again: the hot one is refused (it exists); nothing of cold is touched.
    const again = await runCli(['init', runbook], { env: s3Env(home) });
    expect(again.code).not.toBe(0);
    expect((await openColdDirect({ endpoint: s3.server.endpoint, bucket, prefix: 'archive' })).config.id).toBe(made.data.cold.id);
  }, 120_000);
});
