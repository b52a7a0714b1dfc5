import { ExitCode } from '../src/core/errors.js';
import { formatAge, formatDuration } from '../src/core/format.js';
import { listRunbooks } from '../src/core/runbook/index.js';
import type { DrillRecord, RunRecord } from '../src/core/store/records.js';
import { defineCommand } from './command.js';
import { rawArgs } from './support/args.js';

/** A run in a status entry: enough to show it and find it. */
export interface RunSummary {
  id: string;
  status: RunRecord['status'];
  startedAt: string;
  endedAt?: string;
  snapshotId?: string;
}

/** One entry of the status command's `data`, per runbook; faces read it as is. */
export interface StatusEntry {
  runbook: string;
  valid: boolean;
  lastRun?: RunSummary;
  lastSuccess?: RunSummary;
  ageMs?: number;
  rpoMs?: number;
  /** 'ok' | 'STALE' | 'no backup' | '—'. */
  rpoState: string;
  lastDrill?: DrillRecord;
  /** The last measured drills' RTOs, oldest first. */
  rtoTrendMs: number[];
  openAlerts: { key: string; severity: string; message: string }[];
}

/** Per runbook: the last backup and its age against the RPO, the last drill's RTO against its target. */
export const statusCommand = defineCommand({
  name: 'status',
  summary: 'Where every runbook stands against its RPO and RTO',
  options: {},
  positionals: [],
  schema: rawArgs.transform(() => ({})),
  access: 'anyone',
  audited: false,
  async run(_args, ctx) {
    const store = await ctx.store();
    const entries = await listRunbooks({ runbooksDir: ctx.runbooksDir, home: ctx.home, cwd: ctx.cwd });
    const now = ctx.clock.now();
    const rows = [];
    const data: StatusEntry[] = [];
    for (const e of entries) {
      const runs = (await store.listRuns({ runbook: e.name, limit: 50 })).filter((r) => r.kind === 'backup');
      const last = runs[0];
      const lastGood = runs.find((r) => r.status === 'succeeded' || r.status === 'partial');
      const drills = (await store.listDrills({ runbook: e.name, limit: 20 })).filter((d) => d.verdict !== 'running');
      const drill = drills[0];
      const measured = drills.filter((d) => d.rtoMs !== undefined).slice(0, 8).reverse();
      const alerts = await store.listAlerts({ runbook: e.name, status: 'open' });
      const rpoMs = e.runbook?.objectives.rpoMs;
      const ageMs = lastGood ? now.getTime() - new Date(lastGood.endedAt ?? lastGood.startedAt).getTime() : undefined;
      const rpoState = rpoMs === undefined ? '—' : ageMs === undefined ? 'no backup' : ageMs <= rpoMs ? 'ok' : 'STALE';
      rows.push({
        runbook: e.name,
        last: last ? `${last.status} ${formatAge(last.endedAt ?? last.startedAt, now)}` : 'never',
        rpo: rpoMs === undefined ? 'invalid runbook' : `${rpoState} (${ageMs === undefined ? '—' : formatDuration(ageMs)} / ${formatDuration(rpoMs)})`,
        rto: drill ? `${drill.verdict} ${formatDuration(drill.rtoMs)} / ${formatDuration(drill.targetMs)}` : `no drill yet${e.runbook ? ` (target ${formatDuration(e.runbook.objectives.rtoMs)})` : ''}`,
        trend: measured.length > 1 ? sparkline(measured.map((d) => d.rtoMs!)) : '—',
        alerts: alerts.length === 0 ? 'none' : `${alerts.length} (${alerts.filter((a) => a.severity === 'critical').length} critical)`,
      });
      data.push({
        runbook: e.name,
        valid: !!e.runbook,
        lastRun: summarize(last),
        lastSuccess: summarize(lastGood),
        ageMs,
        rpoMs,
        rpoState,
        lastDrill: drill,
        rtoTrendMs: measured.map((d) => d.rtoMs!),
        openAlerts: alerts.map((a) => ({ key: a.key, severity: a.severity, message: a.message })),
      });
    }
    return {
      exitCode: ExitCode.ok,
      summary: `${entries.length} runbook${entries.length === 1 ? '' : 's'}`,
      table: {
        columns: [
          { key: 'runbook', header: 'RUNBOOK' },
          { key: 'last', header: 'LAST BACKUP' },
          { key: 'rpo', header: 'AGE / RPO' },
          { key: 'rto', header: 'LAST DRILL RTO / TARGET' },
          { key: 'trend', header: 'RTO TREND' },
          { key: 'alerts', header: 'OPEN ALERTS' },
        ],
        rows,
      },
      data,
    };
  },
});

/** The last drills' RTOs as block characters, oldest first: the shape of the trend at a glance. */
export function sparkline(values: number[]): string {
  const blocks = '▁▂▃▄▅▆▇█';
  const max = Math.max(...values);
  const min = Math.min(...values);
  return values.map((v) => blocks[max === min ? 3 : Math.round(((v - min) / (max - min)) * 7)]).join('');
}

function summarize(run: RunRecord | undefined): RunSummary | undefined {
  return run && { id: run.id, status: run.status, startedAt: run.startedAt, endedAt: run.endedAt, snapshotId: run.snapshotId };
}
