/**
 * `lifeboat history [runbook] [--limit N]`: recent runs, newest first, of
 * every runbook or one; each row says when, what, how it ended, how long,
 * what it added and who asked; a bad --limit is a usage error; reading the
 * history is not itself audited. Through invokeCommand over a seeded store,
 * and once through the real CLI after a real backup.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { historyCommand } from '../../commands/history.js';
import { invokeCommand } from '../../commands/invoke.js';
import { ExitCode } from '../../src/core/errors.js';
import { MemoryStore } from '../../src/core/store/memory-store.js';
import type { RunRecord } from '../../src/core/store/records.js';
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

async function history(argv: string[], runs: RunRecord[]) {
  const store = new MemoryStore();
  for (const r of runs) await store.putRun(r);
  const ctx = commandContext({ store });
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
    expect((await history(['orders-db', '-n', '1'], seeded)).rows.map((r) => r.id)).toEqual(['r5']);
    const none = await history(['no-such-runbook'], seeded);
    expect(none.result).toMatchObject({ exitCode: ExitCode.ok, summary: '0 runs of no-such-runbook' });
    expect(none.rows).toEqual([]);
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
    expect(table.stdout).toMatch(/STARTED\s+RUNBOOK\s+KIND\s+STATUS\s+DURATION\s+FILES\s+ADDED\s+BY\s+RUN/);
    expect(table.stdout).toMatch(new RegExp(`recorded\\s+backup\\s+succeeded\\s+\\S+\\s+1\\s+.*\\(cli\\)\\s+${recorded!.id}`));
    const json = await runCli(['history', 'recorded', '--json'], { env });
    expect(json.code, json.stderr).toBe(0);
    expect((JSON.parse(json.stdout) as { data: RunRecord[] }).data.map((r) => [r.id, r.status])).toEqual([[recorded!.id, 'succeeded']]);
  });
});
