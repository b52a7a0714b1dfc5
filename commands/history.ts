import {
  ExitCode,
  formatBytes,
  formatDuration,
  formatTime,
  historyKinds,
  isDrillEntry,
  listRunbooks,
  nothingRecordedNote,
  parseHistoryKind,
  readHistory,
  refuseNothingHere,
  type HistoryEntry,
  type HistoryKind,
} from '../src/core/index.js';
import { defineCommand } from './command.js';
import { rawArgs, str } from './support/args.js';

export const historyCommand = defineCommand({
  name: 'history',
  summary: 'Recent runs and drills, newest first (all runbooks, or one)',
  description:
    'Every kind the store keeps, merged newest first: backups, checks, tiering runs and restore drills (with their RTO against the target). ' +
    '--kind keeps one kind (check and verify are the same runs). Reading the history is not audited.',
  options: {
    limit: { type: 'string', description: 'how many entries to show (default 20)', valueName: 'N' },
    kind: { type: 'string', description: `only this kind: ${historyKinds.join(', ')} (default: all)`, valueName: 'KIND' },
  },
  positionals: [{ name: 'runbook', description: 'only this runbook' }],
  schema: rawArgs.transform((r, ctx): { runbook: string | undefined; limit: number; kind?: HistoryKind | undefined } => {
    const text = str(r.options.limit) ?? '20';
    const limit = Number(text);
    if (!/^\d+$/.test(text) || limit < 1 || limit > 10_000) ctx.addIssue({ code: 'custom', message: `--limit must be a whole number from 1 to 10000, got "${text}"` });
    let kind: HistoryKind | undefined;
    const kindText = str(r.options.kind);
    if (kindText !== undefined) {
      try {
        kind = parseHistoryKind(kindText);
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: (e as Error).message });
      }
    }
    return { runbook: r.positionals[0], limit, kind };
  }),
  access: 'anyone',
  audited: false,
  async run(args, ctx) {
    const store = await ctx.store();
    const entries = await readHistory(store, args);
    const where = { store, home: ctx.home, runbooksDir: ctx.runbooksDir, cwd: ctx.cwd, env: ctx.env, config: ctx.config };
    const lines: string[] = [];
    if (entries.length === 0) {
      // Run from a folder with neither state nor runbooks: say where we looked, exit 2 (src/core/status/nothing-here.ts).
      await refuseNothingHere(where, (await listRunbooks({ runbooksDir: ctx.runbooksDir, home: ctx.home, cwd: ctx.cwd })).length);
      const note = await nothingRecordedNote(where);
      if (note !== undefined) lines.push(note);
    }
    return {
      exitCode: ExitCode.ok,
      summary: `${countOf(entries, args.kind)}${args.runbook ? ` of ${args.runbook}` : ''}`,
      table: {
        columns: [
          { key: 'started', header: 'STARTED' },
          { key: 'runbook', header: 'RUNBOOK' },
          { key: 'kind', header: 'KIND' },
          { key: 'status', header: 'STATUS' },
          { key: 'duration', header: 'DURATION', align: 'right' },
          { key: 'files', header: 'FILES', align: 'right' },
          { key: 'added', header: 'ADDED', align: 'right' },
          { key: 'rto', header: 'RTO / TARGET' },
          { key: 'by', header: 'BY' },
          { key: 'id', header: 'ID' },
        ],
        rows: entries.map(historyRow),
      },
      ...(lines.length > 0 ? { lines } : {}),
      data: entries,
    };
  },
});

/** "5 runs", "2 drills", "3 runs and 1 drill": what the list holds, in the words the filter used. */
function countOf(entries: HistoryEntry[], kind: HistoryKind | undefined): string {
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  const drills = entries.filter(isDrillEntry).length;
  const runs = entries.length - drills;
  if (kind === 'drill') return plural(drills, 'drill');
  if (kind !== undefined) return plural(runs, `${kind} run`);
  return drills === 0 ? plural(runs, 'run') : `${plural(runs, 'run')} and ${plural(drills, 'drill')}`;
}

function historyRow(e: HistoryEntry): Record<string, string> {
  const by = `${e.actor.user} (${e.actor.face})`;
  if (isDrillEntry(e)) {
    const wallMs = e.endedAt === undefined ? undefined : Date.parse(e.endedAt) - Date.parse(e.startedAt);
    return {
      started: formatTime(e.startedAt),
      runbook: e.runbook,
      // A path drill restored one path: its RTO is that path's, not the runbook's (src/core/drill/drill-scope.ts).
      // A copy's drill says which copy (restore-drill --copy): its RTO is that copy's.
      kind: `drill (${e.copy === undefined ? e.tier : `copy ${e.copy}`}${e.path === undefined ? '' : ', path'})`,
      status: e.verdict,
      duration: formatDuration(Number.isNaN(wallMs) ? undefined : wallMs),
      files: '—',
      added: '—',
      rto: e.rtoMs === undefined ? `— / ${formatDuration(e.targetMs)}` : `${e.estimated ? 'est. ' : ''}${formatDuration(e.rtoMs)} / ${formatDuration(e.targetMs)}`,
      by,
      id: e.id,
    };
  }
  return {
    started: formatTime(e.startedAt),
    runbook: e.runbook,
    kind: e.kind,
    status: e.status,
    duration: formatDuration(e.durationMs),
    files: e.stats?.files !== undefined ? String(e.stats.files) : '—',
    added: formatBytes(e.stats?.bytesStored),
    rto: '—',
    by,
    id: e.id,
  };
}
