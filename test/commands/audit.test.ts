/**
 * `lifeboat audit [--runbook R] [--user U] [--since WHEN] [--limit N]`: the
 * audit log, newest first, filtered; bad values are usage errors naming the
 * flag; reading the log is not itself audited. Through invokeCommand over a
 * seeded store, and through the real CLI after real commands (a backup, a
 * usage error), whose entries name their runbook.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { auditCommand } from '../../commands/audit.js';
import { findCommand } from '../../commands/index.js';
import { invokeCommand } from '../../commands/invoke.js';
import { ExitCode } from '../../src/core/errors.js';
import { MemoryStore } from '../../src/core/store/memory-store.js';
import type { AuditRecord } from '../../src/core/store/records.js';
import { ensureCliBuilt, runCli } from '../helpers/cli.js';
import { pipelineEnv, writePipelineRunbook } from '../helpers/pipeline-runbook.js';
import { useTempDirs } from '../helpers/temp-dirs.js';
import { commandContext } from './alerts-context.js';

const tempDir = useTempDirs('audit');

/** Day `d` of March 2026 at 09:00 (the test clock is 2026-03-10 12:00). */
const day = (d: number) => new Date(Date.UTC(2026, 2, d, 9)).toISOString();

function entry(id: string, d: number, fields: Partial<AuditRecord> = {}): AuditRecord {
  return { id, at: day(d), actor: { face: 'cli', user: 'alice' }, command: 'backup', args: ['app-data'], runbook: 'app-data', where: 'tty', result: 'ok', ...fields };
}

const seeded = [
  entry('a1', 1),
  entry('a2', 4, { actor: { face: 'slack', user: 'U0123ABC' }, command: 'restore-drill', where: 'C42', result: 'refused', detail: 'you may not restore-drill app-data: access.drill allows @storage-oncall' }),
  entry('a3', 6, { command: 'status', args: [], runbook: undefined }),
  entry('a4', 8, { actor: { face: 'scheduler', user: 'scheduler' }, runbook: 'orders-db', args: ['orders-db'], where: 'schedule', result: 'failed', detail: 'pg_dump exited with 1' }),
  entry('a5', 9, { command: 'forget', args: ['app-data', '--dry-run'] }),
];

async function audit(argv: string[], entries: AuditRecord[] = seeded) {
  const store = new MemoryStore();
  for (const e of entries) await store.appendAudit(e);
  const ctx = commandContext({ store });
  const result = await invokeCommand({ command: auditCommand, argv }, ctx);
  return { result, rows: result.table?.rows ?? [], after: await store.listAudit() };
}

describe('audit', () => {
  it('is registered, open to anyone and not audited itself', () => {
    expect(findCommand('audit')).toBe(auditCommand);
    expect(auditCommand.access).toBe('anyone');
    expect(auditCommand.audited).toBe(false);
  });

  it('lists the log newest first: when, who from which face, the command as asked, its runbook, from where, how it ended and why', async () => {
    const { result, rows, after } = await audit([]);
    expect(result.exitCode).toBe(ExitCode.ok);
    expect(result.summary).toBe('5 audit entries');
    expect(rows.map((r) => r.command)).toEqual(['forget app-data --dry-run', 'backup orders-db', 'status', 'restore-drill app-data', 'backup app-data']);
    expect(rows[3]).toEqual({
      at: '2026-03-04 09:00:00Z',
      by: 'U0123ABC (slack)',
      command: 'restore-drill app-data',
      runbook: 'app-data',
      from: 'C42',
      result: 'refused',
      detail: 'you may not restore-drill app-data: access.drill allows @storage-oncall',
    });
    expect(rows[2]).toMatchObject({ runbook: '—', detail: '' });
    expect((result.data as AuditRecord[]).map((e) => e.id)).toEqual(['a5', 'a4', 'a3', 'a2', 'a1']);
    // Looking did not add an entry.
    expect(after).toHaveLength(5);
  });

  it('filters by --runbook, --user and --since (a duration back from now, or a date), then --limit', async () => {
    const ids = async (argv: string[]) => {
      const { result, rows } = await audit(argv);
      expect(result.exitCode, result.summary).toBe(ExitCode.ok);
      return [result.summary, (result.data as AuditRecord[]).map((e) => e.id), rows.length];
    };
    expect(await ids(['--runbook', 'app-data'])).toEqual(['3 audit entries about app-data', ['a5', 'a2', 'a1'], 3]);
    expect(await ids(['--user', 'alice'])).toEqual(['3 audit entries by alice', ['a5', 'a3', 'a1'], 3]);
    // The clock is 2026-03-10 12:00: 7d back is 2026-03-03 12:00.
    expect(await ids(['--since', '7d'])).toEqual(['4 audit entries since 2026-03-03 12:00:00Z', ['a5', 'a4', 'a3', 'a2'], 4]);
    expect(await ids(['--since', '2026-03-08'])).toEqual(['2 audit entries since 2026-03-08 00:00:00Z', ['a5', 'a4'], 2]);
    expect(await ids(['--runbook', 'app-data', '--user', 'alice', '--since', '7d'])).toEqual(['1 audit entry about app-data by alice since 2026-03-03 12:00:00Z', ['a5'], 1]);
    expect(await ids(['--limit', '2'])).toEqual(['2 audit entries', ['a5', 'a4'], 2]);
    expect(await ids(['--user', 'nobody'])).toEqual(['0 audit entries by nobody', [], 0]);
  });

  it('refuses a bad --limit or --since as a usage error naming the flag and the value', async () => {
    for (const bad of ['0', 'ten', '10001']) {
      const { result } = await audit(['--limit', bad]);
      expect(result.exitCode, bad).toBe(ExitCode.usage);
      expect(result.summary).toContain(`--limit must be a whole number from 1 to 10000, got "${bad}"`);
    }
    const since = await audit(['--since', 'last tuesday']);
    expect(since.result.exitCode).toBe(ExitCode.usage);
    expect(since.result.summary).toBe('audit: --since last tuesday: "last tuesday" is neither a date (2026-12-01, 2026-12-01T08:00Z) nor a duration back from now (7d, 12h)');
    const empty = await audit(['--user', '']);
    expect(empty.result.exitCode).toBe(ExitCode.usage);
    expect(empty.result.summary).toContain('--user needs a value');
  });

  it('through the CLI: real commands are in the log with their runbook; --runbook and --json; reading it adds nothing', async () => {
    await ensureCliBuilt();
    const base = await tempDir();
    await mkdir(join(base, 'src'));
    await writeFile(join(base, 'src', 'a.txt'), 'a\n');
    const runbook = writePipelineRunbook(base, 'audited', { repo: join(base, 'repo'), sources: [{ name: 'data', path: join(base, 'src') }] });
    const env = pipelineEnv(join(base, 'home'));
    for (const args of [['init', runbook], ['backup', runbook]]) {
      const res = await runCli(args, { env });
      expect(res.code, res.stderr).toBe(0);
    }
    expect((await runCli(['backup'], { env })).code).toBe(ExitCode.usage);
    const table = await runCli(['audit'], { env });
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^3 audit entries$/m);
    expect(table.stdout).toMatch(/AT\s+BY\s+COMMAND\s+RUNBOOK\s+FROM\s+RESULT\s+DETAIL/);
    // Named by path on the command line, the entry is about the runbook by name.
    expect(table.stdout).toMatch(new RegExp(`\\S+ \\(cli\\)\\s+backup ${runbook}\\s+audited\\s+pipe\\s+ok`));
    const json = await runCli(['audit', '--runbook', 'audited', '--json'], { env });
    expect(json.code, json.stderr).toBe(0);
    const entries = (JSON.parse(json.stdout) as { data: AuditRecord[] }).data;
    expect(entries.map((e) => [e.command, e.result])).toEqual([
      ['backup', 'ok'],
      ['init', 'ok'],
    ]);
    expect(entries[0]).toMatchObject({ actor: { face: 'cli' }, runbook: 'audited', args: [runbook] });
    // The usage error named no runbook; neither audit call was audited.
    const all = JSON.parse((await runCli(['audit', '--json'], { env })).stdout) as { data: AuditRecord[] };
    expect(all.data.map((e) => [e.command, e.result, e.runbook ?? null])).toEqual([
      ['backup', 'usage', null],
      ['backup', 'ok', 'audited'],
      ['init', 'ok', 'audited'],
    ]);
  });
});
