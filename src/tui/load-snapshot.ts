/**
 * One poll of where things stand: each runbook's status (core's readStatus
 * definitions, as `lifeboat status` shows them), its next scheduled runs,
 * and the store's recent runs, drills and open alerts for the run list,
 * history and alerts pane — bounded reads of the store, whatever its history.
 * Every poll reads the store again, so runs written by other processes show up here;
 * the runbook files are read again only when their folder changed
 * (runbook-cache.ts).
 */
import type { CommandContext } from '../../commands/command.js';
import { readStatusRecords, statusOfAll, type RunBrief, type RunbookEntry, type StatusEntry } from '../core/index.js';
import { cachedRunbooks } from './runbook-cache.js';
import { nextFire } from './schedule.js';
import type { RunbookView, StoreSnapshot } from './state.js';

export interface SnapshotOptions {
  /** How many of the newest runs and drills the snapshot lists (default 200). */
  runLimit?: number;
}

/** A loader of snapshots for one console: it keeps the runbooks it read between polls. */
export function snapshotLoader(ctx: Pick<CommandContext, 'runbooksDir' | 'home' | 'cwd' | 'clock' | 'store'>, options: SnapshotOptions = {}): () => Promise<StoreSnapshot> {
  const runbooks = cachedRunbooks({ runbooksDir: ctx.runbooksDir, home: ctx.home, cwd: ctx.cwd });
  const limit = options.runLimit ?? 200;
  return async () => {
    const entries = await runbooks();
    const store = await ctx.store();
    // Bounded reads every poll (the status windows per runbook, the newest `limit` runs and drills):
    // a team's PostgreSQL store holds years of history, which a poll a second must never read whole.
    const [records, runs, drills] = await Promise.all([readStatusRecords(store, entries), store.listRuns({ limit }), store.listDrills({ limit })]);
    // The time is read after the store, so an age is never computed against a moment before its record was read.
    const now = ctx.clock.now();
    const status = statusOfAll(entries, records, now);
    const byId = new Map(records.runs.map((r) => [r.id, r]));
    return {
      loadedAt: now.toISOString(),
      runbooks: status.map((s, i) => runbookView(s, entries[i]!, s.lastSuccess && byId.get(s.lastSuccess.id), now)),
      runs,
      drills,
      alerts: [...records.alerts],
    };
  };
}

/** A dashboard row: the status entry, the runbook's next scheduled backup and drill, the repository's size. */
function runbookView(s: StatusEntry, entry: RunbookEntry, lastGood: RunBrief | undefined, now: Date): RunbookView {
  const schedule = entry.runbook?.schedule;
  return {
    name: s.runbook,
    valid: s.valid,
    description: s.description,
    lastRun: s.lastRun,
    lastSuccess: s.lastSuccess,
    ageMs: s.ageMs,
    rpoMs: s.rpoMs,
    rpoState: s.rpoState,
    lastDrill: s.lastDrill,
    rtoTargetMs: s.rtoTargetMs,
    rtoTrendMs: s.rtoTrendMs,
    openAlerts: s.openAlerts,
    nextBackup: nextFire(schedule?.backup, schedule?.timezone, now)?.toISOString(),
    nextDrill: nextFire(schedule?.drill, schedule?.timezone, now)?.toISOString(),
    lastStoredBytes: lastGood?.stats?.repositoryBytes ?? lastGood?.stats?.bytesStored,
    ...(entry.runbook?.host !== undefined ? { host: entry.runbook.host } : {}),
    ...(s.cold ? { cold: { storageClass: s.cold.storageClass, ...(s.cold.rto ? { rto: s.cold.rto } : {}), ...(s.cold.reason ? { reason: s.cold.reason } : {}) } } : {}),
  };
}
