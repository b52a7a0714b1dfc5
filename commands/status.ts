import { ExitCode } from '../src/core/errors.js';
import { formatAge, formatDuration } from '../src/core/format.js';
import { defaultPackSize } from '../src/core/repo/format.js';
import { listRunbooks } from '../src/core/runbook/index.js';
import type { RetrievalTier, Runbook, StorageClass } from '../src/core/runbook/types.js';
import type { DrillRecord, RunRecord } from '../src/core/store/records.js';
import { estimateColdRestore, measuredThroughput, type ColdRestoreEstimate } from '../src/core/tier/estimate.js';
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

/** One tier's recovery time against its target, and whether it was measured or only estimated. */
export interface RtoStatus {
  /** 'measured': a drill restored and validated for real; 'estimated': nothing was thawed or restored. */
  basis: 'measured' | 'estimated';
  /** A stored drill record, or computed now from the thaw table, the last backup's size and measured throughput. */
  source: 'drill' | 'computed';
  verdict: 'met' | 'missed' | 'failed';
  /** Undefined for a failed drill: it never reached a validated restore. */
  rtoMs?: number;
  targetMs: number;
  /** When it was measured or estimated. */
  at: string;
  drillId?: string;
  snapshotId?: string;
  /** For a computed estimate: its parts and what it was computed from. */
  estimate?: ColdRestoreEstimate & { bytes: number; objects: number };
}

/** The cold tier of a runbook that has one. */
export interface ColdTierStatus {
  storageClass: StorageClass;
  retrieval: RetrievalTier;
  /** Undefined when there is nothing to measure or estimate from yet; `reason` says why. */
  rto?: RtoStatus;
  reason?: string;
}

/** One entry of the status command's `data`, per runbook; faces read it as is. */
export interface StatusEntry {
  runbook: string;
  /** The runbook's one-line `description`, when it has one. */
  description?: string;
  valid: boolean;
  lastRun?: RunSummary;
  lastSuccess?: RunSummary;
  ageMs?: number;
  rpoMs?: number;
  /** 'ok' | 'STALE' | 'no backup' | '—'. */
  rpoState: string;
  /** The last finished drill of the hot tier (cold drills are in `cold`). */
  lastDrill?: DrillRecord;
  /** The hot tier's RTO: the last drill's, always measured. */
  hotRto?: RtoStatus;
  /** Present only for runbooks with `repository.cold`. */
  cold?: ColdTierStatus;
  /** The last measured hot drills' RTOs, oldest first. */
  rtoTrendMs: number[];
  openAlerts: { key: string; severity: string; message: string }[];
}

/** Per runbook: the last backup and its age against the RPO, the hot and cold RTO against the target. */
export const statusCommand = defineCommand({
  name: 'status',
  summary: 'Where every runbook stands against its RPO and RTO (hot, and cold: measured or est.)',
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
      const hotDrills = drills.filter((d) => d.tier !== 'cold' && !d.estimated);
      const drill = hotDrills[0];
      const hotRto = drill && drillRto(drill);
      const measured = hotDrills.filter((d) => d.rtoMs !== undefined).slice(0, 8).reverse();
      const cold = e.runbook?.repository.cold && coldStatus(e.runbook, drills, lastGood, now);
      const alerts = await store.listAlerts({ runbook: e.name, status: 'open' });
      const rpoMs = e.runbook?.objectives.rpoMs;
      const ageMs = lastGood ? now.getTime() - new Date(lastGood.endedAt ?? lastGood.startedAt).getTime() : undefined;
      const rpoState = rpoMs === undefined ? '—' : ageMs === undefined ? 'no backup' : ageMs <= rpoMs ? 'ok' : 'STALE';
      rows.push({
        runbook: e.name,
        last: last ? `${last.status} ${formatAge(last.endedAt ?? last.startedAt, now)}` : 'never',
        rpo: rpoMs === undefined ? 'invalid runbook' : `${rpoState} (${ageMs === undefined ? '—' : formatDuration(ageMs)} / ${formatDuration(rpoMs)})`,
        rto: hotRto ? rtoCell(hotRto) : `no drill yet${e.runbook ? ` (target ${formatDuration(e.runbook.objectives.rtoMs)})` : ''}`,
        trend: measured.length > 1 ? sparkline(measured.map((d) => d.rtoMs!)) : '—',
        cold: !cold ? '—' : cold.rto ? rtoCell(cold.rto) : (cold.reason ?? '—'),
        alerts: alerts.length === 0 ? 'none' : `${alerts.length} (${alerts.filter((a) => a.severity === 'critical').length} critical)`,
      });
      data.push({
        runbook: e.name,
        description: e.runbook?.description,
        valid: !!e.runbook,
        lastRun: summarize(last),
        lastSuccess: summarize(lastGood),
        ageMs,
        rpoMs,
        rpoState,
        lastDrill: drill,
        hotRto,
        cold,
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
          { key: 'rto', header: 'HOT: LAST DRILL RTO / TARGET' },
          { key: 'trend', header: 'RTO TREND' },
          { key: 'cold', header: 'COLD RTO / TARGET' },
          { key: 'alerts', header: 'OPEN ALERTS' },
        ],
        rows,
      },
      data,
    };
  },
});

/**
 * The cold tier's RTO: the last cold drill that restored for real wins (a
 * measurement beats any estimate); else the last estimated cold drill; else an
 * estimate computed now from the newest backup's size and the throughput this
 * runbook's drills measured.
 */
function coldStatus(runbook: Runbook, drills: readonly DrillRecord[], lastGood: RunRecord | undefined, now: Date): ColdTierStatus {
  const cold = runbook.repository.cold!;
  // The schema requires a cold storage class; the type allows none (a bucket's default class, STANDARD).
  const storageClass = cold.storageClass ?? 'STANDARD';
  const base = { storageClass, retrieval: cold.retrieval };
  const coldDrills = drills.filter((d) => d.tier === 'cold');
  const drill = coldDrills.find((d) => !d.estimated) ?? coldDrills.find((d) => d.estimated);
  if (drill) return { ...base, rto: drillRto(drill) };
  const bytes = lastGood?.stats?.bytes;
  if (bytes === undefined) return { ...base, reason: lastGood ? 'no estimate (the last backup recorded no size)' : 'no estimate (no backup yet)' };
  // The packs a restore reads: the snapshot's bytes in packs of the default size (compression makes this an upper bound).
  const objects = Math.ceil(bytes / defaultPackSize);
  try {
    const estimate = estimateColdRestore({ storageClass, retrieval: cold.retrieval, bytes, objects, throughputBytesPerSec: measuredThroughput(drills) });
    const targetMs = runbook.objectives.coldRtoMs ?? runbook.objectives.rtoMs;
    return {
      ...base,
      rto: {
        basis: 'estimated',
        source: 'computed',
        verdict: estimate.totalMs <= targetMs ? 'met' : 'missed',
        rtoMs: estimate.totalMs,
        targetMs,
        at: now.toISOString(),
        snapshotId: lastGood?.snapshotId,
        estimate: { ...estimate, bytes, objects },
      },
    };
  } catch (e) {
    return { ...base, reason: `no estimate (${e instanceof Error ? e.message : String(e)})` };
  }
}

function drillRto(d: DrillRecord): RtoStatus {
  return {
    basis: d.estimated ? 'estimated' : 'measured',
    source: 'drill',
    verdict: d.verdict === 'running' ? 'failed' : d.verdict,
    rtoMs: d.rtoMs,
    targetMs: d.targetMs,
    at: d.endedAt ?? d.startedAt,
    drillId: d.id,
    snapshotId: d.snapshotId || undefined,
  };
}

/** "met 1m02s / 5m00s", and for an estimate "missed est. 12h03m / 5m00s": an estimate never passes for a measurement. */
function rtoCell(r: RtoStatus): string {
  return `${r.verdict} ${r.basis === 'estimated' ? 'est. ' : ''}${formatDuration(r.rtoMs)} / ${formatDuration(r.targetMs)}`;
}

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
