import { ExitCode, formatAge, formatBytes, formatDuration, formatTime, listRunbooks, nothingRecordedNote, PRICES_AS_OF, readStatus, refuseNothingHere, type RtoStatus, type StatusEntry } from '../src/core/index.js';
import { defineCommand } from './command.js';
import { bool, rawArgs } from './support/args.js';

// Faces that read `--json` or `data` name the entry types from here or from the core surface.
export type { ColdTierStatus, RtoStatus, RunSummary, StatusEntry } from '../src/core/index.js';

/** Per runbook: the last backup and its age against the RPO, the hot and cold RTO against the target. */
export const statusCommand = defineCommand({
  name: 'status',
  summary: 'Where every runbook stands against its RPO and RTO (hot, and cold: measured or est.)',
  options: {
    copies: { type: 'boolean', description: 'one row per copy of repository.copies: newest snapshot, lag behind hot, last attempt, size and storage cost at list prices' },
  },
  positionals: [],
  // Optional in the parsed args: faces and hosts that call run({}) ask for the usual view.
  schema: rawArgs.transform((r): { copies?: boolean } => (bool(r.options.copies) ? { copies: true } : {})),
  access: 'anyone',
  audited: false,
  async run(args, ctx) {
    const runbooks = await listRunbooks({ runbooksDir: ctx.runbooksDir, home: ctx.home, cwd: ctx.cwd });
    const store = await ctx.store();
    const where = { store, home: ctx.home, runbooksDir: ctx.runbooksDir, cwd: ctx.cwd, env: ctx.env, config: ctx.config };
    // Run from a folder with neither state nor runbooks: say where we looked and exit 2, rather than "0 runbooks" and 0.
    await refuseNothingHere(where, runbooks.length);
    const data = await readStatus({ runbooks, store, clock: ctx.clock });
    const now = ctx.clock.now();
    // Runbooks but no state yet: they show as never run, and the line says where the state will be.
    // Asked only when no runbook shows any record, so a store with history is not read a second time.
    const blank = data.every((e) => e.lastRun === undefined && e.hotRto === undefined && e.openAlerts.length === 0);
    const note = blank ? await nothingRecordedNote(where) : undefined;
    if (args.copies === true) return copiesView(data, now);
    return {
      exitCode: ExitCode.ok,
      summary: `${data.length} runbook${data.length === 1 ? '' : 's'}`,
      ...(note === undefined ? {} : { lines: [note] }),
      table: {
        columns: [
          { key: 'runbook', header: 'RUNBOOK' },
          { key: 'last', header: 'LAST BACKUP' },
          { key: 'rpo', header: 'AGE / RPO' },
          { key: 'rto', header: 'HOT: LAST DRILL RTO / TARGET' },
          { key: 'trend', header: 'RTO TREND' },
          { key: 'cold', header: 'COLD RTO / TARGET' },
          // Only when a runbook has copies: a table without any keeps its width.
          ...(data.some((e) => e.copies !== undefined) ? [{ key: 'copies', header: 'COPIES (LAG BEHIND HOT)' }] : []),
          { key: 'alerts', header: 'OPEN ALERTS' },
        ],
        rows: data.map((e) => statusRow(e, now)),
      },
      data,
    };
  },
});

/** One runbook's cells of the status table. */
function statusRow(e: StatusEntry, now: Date): Record<string, string> {
  const last = e.lastRun;
  return {
    runbook: e.runbook,
    last: last ? `${last.status} ${formatAge(last.endedAt ?? last.startedAt, now)}` : 'never',
    rpo: e.rpoMs === undefined ? 'invalid runbook' : `${e.rpoState} (${e.ageMs === undefined ? '—' : formatDuration(e.ageMs)} / ${formatDuration(e.rpoMs)})`,
    rto: e.hotRto ? rtoCell(e.hotRto) : `no drill yet${e.rtoTargetMs === undefined ? '' : ` (target ${formatDuration(e.rtoTargetMs)})`}`,
    trend: e.rtoTrendMs.length > 1 ? sparkline(e.rtoTrendMs) : '—',
    cold: !e.cold ? '—' : e.cold.rto ? rtoCell(e.cold.rto) : (e.cold.reason ?? '—'),
    copies: e.copies ? e.copies.map(copyCell).join('; ') : '—',
    alerts: e.openAlerts.length === 0 ? 'none' : `${e.openAlerts.length} (${e.openAlerts.filter((a) => a.severity === 'critical').length} critical)`,
  };
}

/** `status --copies`: a row per copy, with what it stores and costs a month. */
function copiesView(data: StatusEntry[], now: Date) {
  const rows = data.flatMap((e) =>
    (e.copies ?? []).map((c) => ({
      runbook: e.runbook,
      copy: c.name,
      url: c.url,
      newest: c.newestSnapshotTime === undefined ? 'none yet' : formatTime(c.newestSnapshotTime),
      lag: c.lagMs === undefined ? '—' : formatDuration(c.lagMs),
      last: c.lastAttempt === undefined ? 'never' : `${c.lastAttempt.status} ${formatAge(c.lastAttempt.at, now)}`,
      stored: c.storedBytes === undefined ? '—' : formatBytes(c.storedBytes),
      cost: c.storage === undefined ? '—' : `$${c.storage.usdPerMonth.toFixed(2)}/month (${c.storage.storageClass})`,
      drill: c.lastDrill?.rtoMs === undefined ? '—' : `${c.lastDrill.verdict} ${formatDuration(c.lastDrill.rtoMs)} / ${formatDuration(c.lastDrill.targetMs)}`,
    })),
  );
  const total = data.flatMap((e) => e.copies ?? []).reduce((n, c) => n + (c.storage?.usdPerMonth ?? 0), 0);
  return {
    exitCode: ExitCode.ok,
    summary: `${rows.length} cop${rows.length === 1 ? 'y' : 'ies'} of ${data.filter((e) => e.copies !== undefined).length} runbook(s); storage about $${total.toFixed(2)}/month at ${PRICES_AS_OF}`,
    table: {
      columns: [
        { key: 'runbook', header: 'RUNBOOK' },
        { key: 'copy', header: 'COPY' },
        { key: 'url', header: 'URL' },
        { key: 'newest', header: 'NEWEST SNAPSHOT' },
        { key: 'lag', header: 'LAG BEHIND HOT' },
        { key: 'last', header: 'LAST ATTEMPT' },
        { key: 'stored', header: 'STORED' },
        { key: 'cost', header: 'STORAGE COST' },
        { key: 'drill', header: 'LAST DRILL RTO / TARGET' },
      ],
      rows,
    },
    data,
  };
}

/** "offsite ok (lag 0s)", "vault FAILED (lag 1h02m)": the last attempt, then how far behind hot the copy is. */
function copyCell(c: NonNullable<StatusEntry['copies']>[number]): string {
  const state = c.lastAttempt === undefined ? 'never filled' : c.lastAttempt.status === 'succeeded' ? 'ok' : 'FAILED';
  return `${c.name} ${state}${c.lagMs === undefined ? '' : ` (lag ${formatDuration(c.lagMs)})`}`;
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
