/**
 * One poll of where things stand: the status command (through the shared
 * invoker, like every face) for the per-runbook numbers, the runbooks'
 * schedules for the next run times, and the store's recent runs, drills and
 * open alerts for the run list, history and alerts pane. The store re-reads its
 * file on every query, so runs written by other processes show up here.
 */
import { findCommand, invokeCommand } from '../../commands/index.js';
import type { CommandContext } from '../../commands/command.js';
import type { StatusEntry } from '../../commands/status.js';
import { listRunbooks } from '../core/runbook/index.js';
import { nextFire } from './schedule.js';
import type { RunbookView, StoreSnapshot } from './state.js';

export async function loadSnapshot(ctx: CommandContext, options: { runLimit?: number } = {}): Promise<StoreSnapshot> {
  const status = findCommand('status');
  if (!status) throw new Error('the status command is missing from the registry');
  const result = await invokeCommand({ command: status, argv: [], where: 'tui' }, ctx);
  if (result.exitCode !== 0) throw new Error(result.summary ?? `status failed (exit ${result.exitCode})`);
  const entries = (result.data ?? []) as StatusEntry[];
  const now = ctx.clock.now();
  const runbookFiles = await listRunbooks({ runbooksDir: ctx.runbooksDir, home: ctx.home, cwd: ctx.cwd });
  const store = await ctx.store();
  const [runs, drills, alerts] = await Promise.all([
    store.listRuns({ limit: options.runLimit ?? 200 }),
    store.listDrills({ limit: options.runLimit ?? 200 }),
    store.listAlerts({ status: 'open' }),
  ]);
  const runbooks: RunbookView[] = entries.map((e) => {
    const rb = runbookFiles.find((f) => f.name === e.runbook)?.runbook;
    const schedule = rb?.schedule;
    const lastGood = e.lastSuccess ? runs.find((r) => r.id === e.lastSuccess!.id) : undefined;
    return {
      name: e.runbook,
      valid: e.valid,
      description: rb?.description,
      lastRun: e.lastRun,
      lastSuccess: e.lastSuccess,
      ageMs: e.ageMs,
      rpoMs: e.rpoMs,
      rpoState: e.rpoState,
      lastDrill: e.lastDrill,
      rtoTargetMs: rb?.objectives.rtoMs,
      rtoTrendMs: e.rtoTrendMs,
      openAlerts: e.openAlerts,
      nextBackup: nextFire(schedule?.backup, schedule?.timezone, now)?.toISOString(),
      nextDrill: nextFire(schedule?.drill, schedule?.timezone, now)?.toISOString(),
      lastStoredBytes: lastGood?.stats?.repositoryBytes ?? lastGood?.stats?.bytesStored,
      ...(e.cold ? { cold: { storageClass: e.cold.storageClass, ...(e.cold.rto ? { rto: e.cold.rto } : {}), ...(e.cold.reason ? { reason: e.cold.reason } : {}) } } : {}),
    };
  });
  return { loadedAt: now.toISOString(), runbooks, runs, drills, alerts };
}
