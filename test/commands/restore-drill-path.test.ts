/**
 * `lifeboat restore-drill <runbook> [snapshot] --path P` through the real CLI
 * (issue 20, item 4): one path drilled, said and recorded with its path; a
 * path not in the snapshot fails the drill (exit 1) naming it; a malformed
 * path is bad usage (exit 2) and records nothing; `--estimate` does not take
 * `--path`. `lifeboat status` keeps the whole drill's RTO.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureCliBuilt, runCli } from '../helpers/cli.js';
import { drillsOf, runDrillCli, scratchLeft, writeDrillRunbook } from '../helpers/drill-runbook.js';
import { PIPELINE_PASSWORD } from '../helpers/pipeline-runbook.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

const tempDir = useTempDirs('drill-path');

let dir: string;
let env: Record<string, string>;
let snapshotId: string;

beforeAll(async () => {
  await ensureCliBuilt();
  dir = await tempDir();
  const src = join(dir, 'src');
  await mkdir(join(src, 'etc'), { recursive: true });
  await writeFile(join(src, 'etc', 'app.yaml'), 'listen: 8080\n');
  await writeFile(join(src, 'big.bin'), Buffer.alloc(300_000, 7));
  await mkdir(join(dir, 'runbooks'));
  await writeDrillRunbook(join(dir, 'runbooks'), 'demo', { sources: [{ name: 'data', path: src }], repo: join(dir, 'repo'), check: 'test -s data/big.bin' });
  env = { LIFEBOAT_PASSWORD: PIPELINE_PASSWORD, LIFEBOAT_HOME: join(dir, 'home') };
  for (const args of [['init', 'demo'], ['backup', 'demo']]) {
    const res = await runCli(args, { env, cwd: dir });
    expect(res.code, res.stderr).toBe(0);
  }
  const list = await runCli(['snapshots', 'demo', '--json'], { env, cwd: dir });
  snapshotId = (JSON.parse(list.stdout) as { data: { id: string }[] }).data[0]!.id;
}, 120_000);

const drillCli = (args: string[]) => runDrillCli(args, env);

describe('lifeboat restore-drill --path', () => {
  it('drills one path: exit 0, the summary names the path and its size, the record keeps the path, scratch removed', async () => {
    // runDrillCli runs from the repository root: name the runbook by its file.
    const res = await drillCli([join(dir, 'runbooks', 'demo.yaml'), '--path', 'data/etc/app.yaml']);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.drill).toMatchObject({ verdict: 'met', path: 'data/etc/app.yaml', snapshotId });
    expect(res.summary).toMatch(new RegExp(`^drill met: demo path data/etc/app\\.yaml \\(1 file, 13 B\\) snapshot ${snapshotId.slice(0, 8)} restored and validated in \\S+ \\(target 15m00s\\)$`));
    expect(res.lines).toContain('drill.check and stream restores not run: a path drill hashes what it restored against the snapshot');
    expect(res.drill.phases.find((p) => p.name === 'write')!.bytes).toBe(13);
    expect((await drillsOf(join(dir, 'home'), 'demo'))[0]).toMatchObject({ id: res.drill.id, path: 'data/etc/app.yaml' });
    expect(await scratchLeft(join(dir, 'home'))).toEqual([]);
  });

  it('by runbook name, with a snapshot prefix, as typed at a prompt', async () => {
    const res = await runCli(['restore-drill', 'demo', snapshotId.slice(0, 8), '--path', '/data/etc/app.yaml'], { env, cwd: dir });
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.stdout).toContain('drill met: demo path data/etc/app.yaml (1 file, 13 B)');
  });

  it('a path not in the snapshot: exit 1, a failed drill naming the path and the snapshot', async () => {
    const res = await drillCli([join(dir, 'runbooks', 'demo.yaml'), '--path', 'data/etc/gone.yaml']);
    expect(res.code).toBe(1);
    expect(res.drill).toMatchObject({ verdict: 'failed', path: 'data/etc/gone.yaml', reason: `path data/etc/gone.yaml is not in snapshot ${snapshotId.slice(0, 8)}` });
    expect(res.summary).toContain(`drill failed: demo path data/etc/gone.yaml snapshot ${snapshotId.slice(0, 8)} failed validation`);
  });

  it('a malformed path or --estimate with --path: exit 2, nothing recorded', async () => {
    const before = (await drillsOf(join(dir, 'home'), 'demo')).length;
    const up = await runCli(['restore-drill', 'demo', '--path', '../../etc/passwd'], { env, cwd: dir });
    expect(up.code).toBe(2);
    expect(up.stderr + up.stdout).toContain('".." is not allowed');
    const estimate = await runCli(['restore-drill', 'demo', '--tier', 'cold', '--estimate', '--path', 'data/etc/app.yaml'], { env, cwd: dir });
    expect(estimate.code).toBe(2);
    expect(estimate.stderr + estimate.stdout).toContain('--estimate forecasts a whole drill; it does not take --path');
    expect(await drillsOf(join(dir, 'home'), 'demo')).toHaveLength(before);
  });

  it("status keeps the whole drill's RTO: the path drills after it do not replace it", async () => {
    const whole = await drillCli([join(dir, 'runbooks', 'demo.yaml')]);
    expect(whole.drill.verdict).toBe('met');
    const path = await drillCli([join(dir, 'runbooks', 'demo.yaml'), '--path', 'data/etc/app.yaml']);
    expect(path.drill.verdict).toBe('met');
    const status = await runCli(['status', '--json'], { env, cwd: dir });
    expect(status.code, status.stderr).toBe(0);
    const entries = (JSON.parse(status.stdout) as { data: { runbook: string; lastDrill?: { id: string } }[] }).data;
    expect(entries.find((e) => e.runbook === 'demo')?.lastDrill?.id).toBe(whole.drill.id);
  });
});
