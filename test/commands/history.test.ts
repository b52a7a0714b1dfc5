/**
 * `lifeboat history [runbook] [--kind K] [--limit N]`: recent runs and drills,
 * newest first, of every runbook or one; each row says when, what, how it
 * ended, how long, what it added (a drill: its RTO against the target) and who
 * asked; `--kind` keeps one kind; a bad --limit or --kind is a usage error;
 * with nothing recorded and no runbooks it says where it looked and exits 2;
 * reading the history is not itself audited. Through invokeCommand over a
 * seeded store, and through the real CLI after a real backup and drill.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { historyCommand } from '../../commands/history.js';
import { invokeCommand } from '../../commands/invoke.js';
import { ExitCode } from '../../src/core/errors.js';
import { MemoryStore } from '../../src/core/store/memory-store.js';
import type { DrillRecord, RunRecord } from '../../src/core/store/records.js';
import { ensureCliBuilt, runCli } from '../helpers/cli.js';
import { runsOf } from '../helpers/pipeline-process.js';
import { pipelineEnv, writePipelineRunbook } from '../helpers/pipeline-runbook.js';
import { useTempDirs } from '../helpers/temp-dirs.js';
import { commandContext } from './alerts-context.js';

const tempDir = useTempDirs('history');

/** Minute `n` of a fixed day: records order by it. */
const at = (n: number) => new Date(Date.UTC(2026, 2, 10, 9, n)).toISOString();

function run(id: string, minute: number, fields: Partial<RunRecord> = {}): RunRecord {
  return {
    id,
    runbook: 'app-data',
    kind: 'backup',
    status: 'succeeded',
    startedAt: at(minute),
    endedAt: at(minute + 1),
    durationMs: 60_000,
    actor: { face: 'scheduler', user: 'scheduler' },
    host: 'box',
    pid: 1,
    stages: [],
    stats: { files: 3, bytesStored: 2048 },
    ...fields,
  };
}

function drill(id: string, minute: number, fields: Partial<DrillRecord> = {}): DrillRecord {
  return {
    id,
    runbook: 'app-data',
    snapshotId: 'snap1',
    tier: 'hot',
    startedAt: at(minute),
    endedAt: at(minute + 2),
    verdict: 'met',
    rtoMs: 62_000,
    targetMs: 300_000,
    phases: [],
    actor: { face: 'scheduler', user: 'scheduler' },
    ...fields,
  };
}

async function history(argv: string[], runs: RunRecord[], drills: DrillRecord[] = [], dir?: string) {
  const store = new MemoryStore();
  for (const r of runs) await store.putRun(r);
  for (const d of drills) await store.putDrill(d);
  const ctx = commandContext({ store, ...(dir ? { dir } : {}) });
  const result = await invokeCommand({ command: historyCommand, argv }, ctx);
  return { result, rows: result.table?.rows ?? [], audit: await store.listAudit() };
}

const seeded = [
  run('r1', 0),
  run('r2', 5, { runbook: 'orders-db', status: 'failed', stats: undefined, error: { code: 'SOURCE_FAILED', message: 'pg_dump exited with 1' } }),
  run('r3', 10, { kind: 'verify', stats: undefined }),
  run('r4', 20, { status: 'partial', actor: { face: 'slack', user: 'U0123ABC' }, stats: { files: 12, bytesStored: 3 * 1024 * 1024 } }),
  run('r5', 30, { runbook: 'orders-db', status: 'running', endedAt: undefined, durationMs: undefined, stats: undefined, actor: { face: 'cli', user: 'alice' } }),
];

describe('history', () => {
  it('lists every runbook’s runs newest first, one row each with when, what, outcome, duration, size and who', async () => {
    const { result, rows, audit } = await history([], seeded);
    expect(result.exitCode).toBe(ExitCode.ok);
    expect(result.summary).toBe('5 runs');
    expect(rows.map((r) => r.id)).toEqual(['r5', 'r4', 'r3', 'r2', 'r1']);
    expect(rows[1]).toEqual({
      started: '2026-03-10 09:20:00Z',
      runbook: 'app-data',
      kind: 'backup',
      status: 'partial',
      duration: '1m00s',
      files: '12',
      added: '3.0 MiB',
      rto: '—',
      by: 'U0123ABC (slack)',
      id: 'r4',
    });
    // A run still going, and one that recorded no totals: their unknowns are shown as such.
    expect(rows[0]).toMatchObject({ status: 'running', duration: '—', files: '—', by: 'alice (cli)' });
    expect(rows[3]).toMatchObject({ runbook: 'orders-db', status: 'failed', files: '—' });
    expect((result.data as RunRecord[]).map((r) => r.id)).toEqual(['r5', 'r4', 'r3', 'r2', 'r1']);
    // Reading the history is not an operator action worth an audit entry.
    expect(audit).toEqual([]);
  });

  it('shows one runbook’s runs, and the newest N with --limit', async () => {
    expect((await history(['app-data'], seeded)).rows.map((r) => r.id)).toEqual(['r4', 'r3', 'r1']);
    expect((await history(['app-data'], seeded)).result.summary).toBe('3 runs of app-data');
    expect((await history(['--limit', '2'], seeded)).rows.map((r) => r.id)).toEqual(['r5', 'r4']);
    expect((await history(['orders-db', '--limit', '1'], seeded)).rows.map((r) => r.id)).toEqual(['r5']);
    const none = await history(['no-such-runbook'], seeded);
    expect(none.result).toMatchObject({ exitCode: ExitCode.ok, summary: '0 runs of no-such-runbook' });
    expect(none.rows).toEqual([]);
  });

  it('shows drills among the runs, newest first, with their verdict and RTO against the target', async () => {
    const drills = [
      drill('d1', 7),
      drill('d2', 25, { runbook: 'orders-db', verdict: 'missed', rtoMs: 420_000, actor: { face: 'slack', user: 'U0123ABC' } }),
      drill('d3', 40, { tier: 'cold', verdict: 'met', estimated: true, rtoMs: 3_600_000, targetMs: 14_400_000, endedAt: at(40) }),
      drill('d4', 41, { verdict: 'running', rtoMs: undefined, endedAt: undefined, path: 'uploads/2026' }),
    ];
    const { result, rows } = await history([], seeded, drills);
    expect(result.summary).toBe('5 runs and 4 drills');
    expect(rows.map((r) => r.id)).toEqual(['d4', 'd3', 'r5', 'd2', 'r4', 'r3', 'd1', 'r2', 'r1']);
    expect(rows[3]).toEqual({
      started: '2026-03-10 09:25:00Z',
      runbook: 'orders-db',
      kind: 'drill (hot)',
      status: 'missed',
      duration: '2m00s',
      files: '—',
      added: '—',
      rto: '7m00s / 5m00s',
      by: 'U0123ABC (slack)',
      id: 'd2',
    });
    // An estimate never passes for a measurement; a path drill says so; one still going has no RTO yet.
    expect(rows[1]).toMatchObject({ kind: 'drill (cold)', status: 'met', rto: 'est. 1h00m / 4h00m' });
    expect(rows[0]).toMatchObject({ kind: 'drill (hot, path)', status: 'running', duration: '—', rto: '— / 5m00s' });
    // --json: every entry has a kind; drills are drill records with kind "drill".
    expect((result.data as { id: string; kind: string }[]).slice(0, 3).map((e) => [e.id, e.kind])).toEqual([
      ['d4', 'drill'],
      ['d3', 'drill'],
      ['r5', 'backup'],
    ]);
  });

  it('--kind keeps one kind: drill, a run kind, and check and verify read the same runs', async () => {
    const drills = [drill('d1', 7), drill('d2', 25)];
    const kinds = async (argv: string[]) => {
      const { rows, result } = await history(argv, seeded, drills);
      return [result.summary, rows.map((r) => r.id)];
    };
    expect(await kinds(['--kind', 'drill'])).toEqual(['2 drills', ['d2', 'd1']]);
    expect(await kinds(['--kind', 'backup'])).toEqual(['4 backup runs', ['r5', 'r4', 'r2', 'r1']]);
    expect(await kinds(['--kind', 'verify'])).toEqual(['1 verify run', ['r3']]);
    expect(await kinds(['--kind', 'check'])).toEqual(['1 check run', ['r3']]);
    expect(await kinds(['--kind', 'tier'])).toEqual(['0 tier runs', []]);
    expect(await kinds(['orders-db', '--kind', 'drill'])).toEqual(['0 drills of orders-db', []]);
    // --limit counts the merged list, not each kind.
    expect(await kinds(['--limit', '3'])).toEqual(['2 runs and 1 drill', ['r5', 'd2', 'r4']]);
    const bad = await history(['--kind', 'drills'], seeded);
    expect(bad.result.exitCode).toBe(ExitCode.usage);
    expect(bad.result.summary).toContain('--kind must be one of backup, check, verify, tier, copy, restore, forget, drill, got "drills"');
  });

  it('with nothing recorded and no runbooks, says where it looked and exits 2; with runbooks, says nothing is recorded yet', async () => {
    const dir = await tempDir();
    const nothing = await history([], [], [], dir);
    expect(nothing.result.exitCode).toBe(ExitCode.usage);
    expect(nothing.result.summary).toBe(
      `Nothing here: no state at ${join(dir, '.lifeboat', 'state.json')} and no runbooks in ${join(dir, 'runbooks')}. ` +
        'Run Lifeboat from the folder that holds them, or set home and runbooks in lifeboat.yaml (or LIFEBOAT_HOME and LIFEBOAT_RUNBOOKS).',
    );
    await mkdir(join(dir, 'runbooks'));
    writePipelineRunbook(join(dir, 'runbooks'), 'app-data', { repo: join(dir, 'repo'), sources: [{ name: 'data', path: dir }] });
    const empty = await history([], [], [], dir);
    expect(empty.result).toMatchObject({ exitCode: ExitCode.ok, summary: '0 runs', lines: [`nothing recorded yet in ${join(dir, '.lifeboat', 'state.json')}`] });
  });

  it('shows the newest 20 by default', async () => {
    const many = Array.from({ length: 25 }, (_, i) => run(`m${String(i).padStart(2, '0')}`, i));
    const { rows, result } = await history([], many);
    expect(result.summary).toBe('20 runs');
    expect(rows[0]!.id).toBe('m24');
    expect(rows.at(-1)!.id).toBe('m05');
  });

  it('refuses a --limit that is not a whole number from 1 to 10000, as a usage error naming it', async () => {
    for (const bad of ['0', '-3', 'ten', '1.5', '10001']) {
      const { result } = await history([`--limit=${bad}`], seeded);
      expect(result.exitCode, bad).toBe(ExitCode.usage);
      expect(result.summary, bad).toContain(`--limit must be a whole number from 1 to 10000, got "${bad}"`);
    }
  });

  it('through the CLI: a real backup is in the history with its run id, and --json carries the records', async () => {
    await ensureCliBuilt();
    const base = await tempDir();
    await mkdir(join(base, 'src'));
    await writeFile(join(base, 'src', 'a.txt'), 'a\n');
    const runbook = writePipelineRunbook(base, 'recorded', { repo: join(base, 'repo'), sources: [{ name: 'data', path: join(base, 'src') }] });
    const env = pipelineEnv(join(base, 'home'));
    for (const args of [['init', runbook], ['backup', runbook]]) {
      const res = await runCli(args, { env });
      expect(res.code, res.stderr).toBe(0);
    }
    const [recorded] = await runsOf(join(base, 'home'), 'recorded');
    const table = await runCli(['history'], { env });
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/STARTED\s+RUNBOOK\s+KIND\s+STATUS\s+DURATION\s+FILES\s+ADDED\s+RTO \/ TARGET\s+BY\s+ID/);
    expect(table.stdout).toMatch(new RegExp(`recorded\\s+backup\\s+succeeded\\s+\\S+\\s+1\\s+.*—\\s+\\S+ \\(cli\\)\\s+${recorded!.id}`));
    const json = await runCli(['history', 'recorded', '--json'], { env });
    expect(json.code, json.stderr).toBe(0);
    expect((JSON.parse(json.stdout) as { data: RunRecord[] }).data.map((r) => [r.id, r.status])).toEqual([[recorded!.id, 'succeeded']]);
    // A real drill: in the history with its verdict and measured RTO against the runbook's 5m target.
    const drilled = await runCli(['restore-drill', runbook], { env });
    expect(drilled.code, drilled.stderr).toBe(0);
    const drills = await runCli(['history', '--kind', 'drill'], { env });
    expect(drills.code, drills.stderr).toBe(0);
    expect(drills.stdout).toMatch(/^1 drill$/m);
    expect(drills.stdout).toMatch(/recorded\s+drill \(hot\)\s+met\s+\S+\s+—\s+—\s+\S+ \/ 5m00s\s+\S+ \(cli\)/);
    const all = await runCli(['history', '--json'], { env });
    expect((JSON.parse(all.stdout) as { data: { kind: string }[] }).data.map((e) => e.kind)).toEqual(['drill', 'backup']);
  });
});
