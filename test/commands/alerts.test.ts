import { describe, expect, it } from 'vitest';
import { alertsCommand } from '../../commands/alerts.js';
import { findCommand } from '../../commands/index.js';
import { parseCommandArgs } from '../../commands/invoke.js';
import { ExitCode } from '../../src/core/errors.js';
import { commandContext, openAlert } from './alerts-context.js';

async function seeded() {
  const ctx = commandContext();
  await ctx.memory.putAlert(openAlert('stale:app-data'));
  await ctx.memory.putAlert(
    openAlert('anomaly:app-data:bytes', {
      severity: 'warning',
      message: 'backup added 12.0 MiB; the last 10 successful runs added 380–420 MiB (median 400 MiB)',
      firstSeen: '2026-03-10T11:00:00.000Z',
      count: 2,
      ackedBy: 'bob',
      ackedAt: '2026-03-10T11:30:00.000Z',
    }),
  );
  await ctx.memory.putAlert(openAlert('drill-failed:web', { message: 'restore drill of snapshot 4f9a1c2e failed: check exited with 1', firstSeen: '2026-03-08T12:00:00.000Z', count: 9 }));
  await ctx.memory.putAlert(openAlert('failed-run:app-data', { status: 'resolved', resolvedAt: '2026-03-10T10:00:00.000Z', firstSeen: '2026-03-10T08:00:00.000Z', lastSeen: '2026-03-10T10:00:00.000Z', count: 2, message: 'backup failed in stage transfer: 403 (BACKEND_PERMISSION)' }));
  return ctx;
}

describe('alerts command', () => {
  it('is registered, open to anyone and not audited', () => {
    expect(findCommand('alerts')).toBe(alertsCommand);
    expect(alertsCommand.access).toBe('anyone');
    expect(alertsCommand.audited).toBe(false);
    expect(parseCommandArgs(alertsCommand, ['--all', 'app-data'])).toEqual({ all: true, runbook: 'app-data' });
    expect(parseCommandArgs(alertsCommand, [])).toEqual({ all: false, runbook: undefined });
  });

  it('lists open alerts, newest first, with severity, key, message, first seen, count and who acked', async () => {
    const ctx = await seeded();
    const res = await alertsCommand.run({ all: false, runbook: undefined }, ctx);
    expect(res.exitCode).toBe(ExitCode.ok);
    expect(res.summary).toBe('3 open alerts');
    expect(res.table!.columns.map((c) => c.header)).toEqual(['SEVERITY', 'KEY', 'MESSAGE', 'FIRST SEEN', 'COUNT', 'ACKED BY']);
    expect(res.table!.rows).toEqual([
      {
        severity: 'WARNING',
        key: 'anomaly:app-data:bytes',
        message: 'backup added 12.0 MiB; the last 10 successful runs added 380–420 MiB (median 400 MiB)',
        firstSeen: '1h ago',
        count: '2',
        acked: 'bob 30m ago',
      },
      { severity: 'CRITICAL', key: 'stale:app-data', message: 'last successful backup 27h ago, RPO 26h', firstSeen: '3h ago', count: '4', acked: '—' },
      { severity: 'CRITICAL', key: 'drill-failed:web', message: 'restore drill of snapshot 4f9a1c2e failed: check exited with 1', firstSeen: '2d ago', count: '9', acked: '—' },
    ]);
    expect((res.data as { key: string }[]).map((a) => a.key)).toEqual(['anomaly:app-data:bytes', 'stale:app-data', 'drill-failed:web']);
  });

  it('filters by runbook', async () => {
    const ctx = await seeded();
    const res = await alertsCommand.run({ all: false, runbook: 'web' }, ctx);
    expect(res.summary).toBe('1 open alert for web');
    expect(res.table!.rows.map((r) => r.key)).toEqual(['drill-failed:web']);
    expect((await alertsCommand.run({ all: false, runbook: 'nothing-here' }, ctx)).summary).toBe('no open alerts for nothing-here');
  });

  it('--all includes resolved alerts, with a status column', async () => {
    const ctx = await seeded();
    const res = await alertsCommand.run({ all: true, runbook: 'app-data' }, ctx);
    expect(res.summary).toBe('3 alerts for app-data (2 open)');
    expect(res.table!.columns.map((c) => c.key)).toContain('status');
    expect(res.table!.rows.map((r) => [r.key, r.status])).toEqual([
      ['anomaly:app-data:bytes', 'open'],
      ['stale:app-data', 'open'],
      ['failed-run:app-data', 'resolved 2h ago'],
    ]);
  });

  it('says so when nothing is open', async () => {
    const res = await alertsCommand.run({ all: false, runbook: undefined }, commandContext());
    expect(res).toMatchObject({ exitCode: ExitCode.ok, summary: 'no open alerts', table: { rows: [] }, data: [] });
  });
});
