import { describe, expect, it } from 'vitest';
import { alertsCommand } from '../../commands/alerts.js';
import { findCommand } from '../../commands/index.js';
import { invokeCommand, parseCommandArgs } from '../../commands/invoke.js';
import { deliveriesFor } from '../../src/core/notify/routing.js';
import type { AlertRecord, AlertTransition, DeliveryRecord } from '../../src/core/store/records.js';
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
    expect(parseCommandArgs(alertsCommand, ['--all', 'app-data'])).toEqual({ all: true, runbook: 'app-data', deliveries: false });
    expect(parseCommandArgs(alertsCommand, [])).toEqual({ all: false, runbook: undefined, deliveries: false });
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

describe('alerts --deliveries', () => {
  const config = { notify: {}, alerts: { repeatMs: 4 * 3_600_000, notify: [{ sink: 'oncall-slack' }, { sink: 'pager', severity: 'critical' as const }] } };
  const routes = { alerts: { anomaly: { window: 10, minHistory: 5, threshold: 3.5 } } };

  /** Three transitions of two alerts, one delivered, one retrying, one given up, the rest pending. */
  async function outbox() {
    const ctx = commandContext();
    const clock = ctx.fakeClock;
    const put = async (alert: AlertRecord, transition: AlertTransition) =>
      ctx.memory.putAlert(alert, deliveriesFor({ alert, transition, runbook: routes, config, clock }));
    const stale = openAlert('stale:app-data');
    await put(stale, 'raised');
    const web = openAlert('drill-failed:web', { severity: 'warning' });
    await put(web, 'raised');
    clock.advance(60_000);
    await put({ ...stale, status: 'resolved', resolvedAt: clock.now().toISOString() }, 'resolved');
    const claim = () => ctx.memory.claimDeliveries({ owner: 'serve', sinks: ['oncall-slack', 'pager'], now: clock.now(), leaseMs: 60_000, limit: 10 });
    for (const d of await claim()) {
      const at = clock.now();
      if (d.sink === 'oncall-slack' && d.alertKey === 'stale:app-data') await ctx.memory.finishDelivery(d.id, 'serve', { ok: true, at, receipt: { ts: '1' } });
      else if (d.sink === 'pager') await ctx.memory.finishDelivery(d.id, 'serve', { ok: false, at, error: 'pager (events.pagerduty.com): HTTP 503', permanent: false, nextAttemptAt: new Date(at.getTime() + 5_000) });
      else await ctx.memory.finishDelivery(d.id, 'serve', { ok: false, at, error: 'oncall-slack (slack.com): channel_not_found', permanent: true, nextAttemptAt: at });
    }
    clock.advance(2_000);
    return ctx;
  }

  it('parses --deliveries, --status and --runbook; refuses a wrong status, --status alone, two runbooks', () => {
    expect(parseCommandArgs(alertsCommand, ['--deliveries', '--status', 'pending', '--runbook', 'web'])).toEqual({ all: false, runbook: 'web', deliveries: true, status: 'pending' });
    expect(parseCommandArgs(alertsCommand, ['--deliveries', 'web'])).toMatchObject({ runbook: 'web', deliveries: true });
    expect(() => parseCommandArgs(alertsCommand, ['--deliveries', '--status', 'lost'])).toThrow(/--status must be one of pending, delivered, failed/);
    expect(() => parseCommandArgs(alertsCommand, ['--status', 'failed'])).toThrow(/--status goes with --deliveries/);
    expect(() => parseCommandArgs(alertsCommand, ['--deliveries', '--runbook', 'a', 'b'])).toThrow(/name the runbook once/);
  });

  it('shows pending deliveries first (soonest due first), then the others newest first, with attempts, next try and last error', async () => {
    const ctx = await outbox();
    const res = await alertsCommand.run({ all: false, runbook: undefined, deliveries: true }, ctx);
    expect(res.exitCode).toBe(ExitCode.ok);
    expect(res.summary).toBe('alert deliveries: 3 pending, 1 delivered, 1 failed');
    expect(res.table!.columns.map((c) => c.header)).toEqual(['ALERT', 'TRANSITION', 'SINK', 'STATUS', 'ATTEMPTS', 'NEXT / DONE', 'LAST ERROR']);
    expect(res.table!.rows).toEqual([
      { alert: 'stale:app-data', transition: 'resolved', sink: 'oncall-slack', status: 'pending', attempts: '0', when: 'due now', error: '—' },
      { alert: 'stale:app-data', transition: 'resolved', sink: 'pager', status: 'pending', attempts: '0', when: 'due now', error: '—' },
      { alert: 'stale:app-data', transition: 'raised', sink: 'pager', status: 'pending', attempts: '1', when: 'next in 3s', error: 'pager (events.pagerduty.com): HTTP 503' },
      { alert: 'drill-failed:web', transition: 'raised', sink: 'oncall-slack', status: 'failed', attempts: '1', when: 'gave up 2s ago', error: 'oncall-slack (slack.com): channel_not_found' },
      { alert: 'stale:app-data', transition: 'raised', sink: 'oncall-slack', status: 'delivered', attempts: '1', when: 'delivered 2s ago', error: '—' },
    ]);
    expect((res.data as DeliveryRecord[]).map((d) => d.status)).toEqual(['pending', 'pending', 'pending', 'failed', 'delivered']);
  });

  it('filters by status and runbook, and says when there is nothing', async () => {
    const ctx = await outbox();
    const failed = await alertsCommand.run({ all: false, runbook: undefined, deliveries: true, status: 'failed' }, ctx);
    expect(failed.summary).toBe('alert deliveries (failed): 0 pending, 0 delivered, 1 failed');
    expect(failed.table!.rows.map((r) => r.alert)).toEqual(['drill-failed:web']);
    const web = await alertsCommand.run({ all: false, runbook: 'web', deliveries: true }, ctx);
    expect(web.table!.rows.map((r) => `${r.alert} ${r.status}`)).toEqual(['drill-failed:web failed']);
    const none = await alertsCommand.run({ all: false, runbook: 'nothing-here', deliveries: true }, ctx);
    expect(none).toMatchObject({ summary: 'no alert deliveries for nothing-here', table: { rows: [] }, data: [] });
  });

  it('through the shared invoker, --json data is the deliveries as stored', async () => {
    const ctx = await outbox();
    const res = await invokeCommand({ command: alertsCommand, argv: ['--deliveries', '--status', 'pending'], where: 'test' }, ctx);
    expect(res.exitCode).toBe(ExitCode.ok);
    expect((res.data as DeliveryRecord[]).map((d) => `${d.alertKey} ${d.transition} ${d.sink}`)).toEqual([
      'stale:app-data resolved oncall-slack',
      'stale:app-data resolved pager',
      'stale:app-data raised pager',
    ]);
  });
});
