import { ExitCode, formatDuration, formatIssue, formatZoned, listRunbooks, nextRuns, type Runbook, type RunbookIssue } from '../src/core/index.js';
import { defineCommand, type TableColumn } from './command.js';
import { rawArgs, str } from './support/args.js';
import { loadRunbookArg } from './support/runbook-arg.js';

const maxLimit = 1000;

const columns: TableColumn[] = [
  { key: 'runbook', header: 'RUNBOOK' },
  { key: 'kind', header: 'KIND' },
  { key: 'when', header: 'WHEN (RUNBOOK TIME)' },
  { key: 'utc', header: 'UTC' },
  { key: 'in', header: 'IN', align: 'right' },
  { key: 'announce', header: 'ANNOUNCED' },
];

const utc = (d: Date) => d.toISOString().replace('T', ' ').replace(/(:00)?\.000Z$/, 'Z');

/**
 * `lifeboat schedule [runbook]`: the next runs `lifeboat serve` will start, of
 * every kind, read from the runbook files (not from a running serve, so it
 * works when nothing is serving).
 */
export const scheduleCommand = defineCommand({
  name: 'schedule',
  summary: 'Next scheduled backups, verifications, drills and tiering (all runbooks, or one)',
  description:
    'Lists the next cron fires of each runbook\'s schedule, in the runbook\'s time zone and in UTC, with when a drill is announced (drill.announce). ' +
    '`lifeboat serve` runs them, up to its jitter later. Runbooks without a schedule are listed as not scheduled.',
  options: {
    limit: { type: 'string', description: `how many runs of each kind to show (default 1, at most ${maxLimit})`, valueName: 'N' },
  },
  positionals: [{ name: 'runbook', description: 'only this runbook (name or path to a YAML file)' }],
  schema: rawArgs.transform((r, ctx) => {
    const text = str(r.options.limit) ?? '1';
    const limit = Number(text);
    if (!/^\d+$/.test(text) || limit < 1 || limit > maxLimit) ctx.addIssue({ code: 'custom', message: `--limit must be a whole number from 1 to ${maxLimit}, got "${text}"` });
    return { runbook: r.positionals[0], limit };
  }),
  access: 'anyone',
  audited: false,
  async run(args, ctx) {
    const now = ctx.clock.now();
    let runbooks: Runbook[];
    let invalid: { name: string; file: string; issues: RunbookIssue[] }[] = [];
    if (args.runbook !== undefined) {
      runbooks = [await loadRunbookArg(args.runbook, ctx)];
    } else {
      const entries = await listRunbooks({ runbooksDir: ctx.runbooksDir, home: ctx.home, cwd: ctx.cwd });
      runbooks = entries.flatMap((e) => (e.runbook ? [e.runbook] : []));
      invalid = entries.filter((e) => !e.runbook).map((e) => ({ name: e.name, file: e.file, issues: e.issues }));
    }
    const runs = nextRuns(runbooks, now, { limit: args.limit });
    const notScheduled = runbooks.filter((rb) => !runs.some((r) => r.runbook === rb.name)).map((rb) => rb.name);

    const rows: Record<string, string>[] = [];
    for (const name of [...runbooks.map((rb) => rb.name), ...invalid.map((e) => e.name)].sort((a, b) => a.localeCompare(b))) {
      const bad = invalid.find((e) => e.name === name);
      if (bad) {
        rows.push({ runbook: name, kind: '—', when: `invalid runbook (${bad.issues.length} problem${bad.issues.length === 1 ? '' : 's'})`, utc: '—', in: '—', announce: '—' });
        continue;
      }
      const mine = runs.filter((r) => r.runbook === name);
      if (mine.length === 0) rows.push({ runbook: name, kind: '—', when: 'not scheduled', utc: '—', in: '—', announce: '—' });
      for (const r of mine) {
        rows.push({
          runbook: r.runbook,
          kind: r.kind,
          when: formatZoned(r.at, r.timezone),
          utc: utc(r.at),
          in: formatDuration(r.at.getTime() - now.getTime()),
          announce: r.announceAt ? `${formatZoned(r.announceAt, r.timezone)} (${formatDuration(r.at.getTime() - r.announceAt.getTime())} before)` : '—',
        });
      }
    }

    const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
    let summary: string;
    if (args.runbook !== undefined) {
      summary = runs.length > 0 ? `${plural(runs.length, 'upcoming run')} of ${runbooks[0]!.name}` : `${runbooks[0]!.name} is not scheduled`;
    } else {
      summary = [
        `${plural(runs.length, 'upcoming run')} of ${plural(runbooks.length - notScheduled.length, 'runbook')}`,
        ...(notScheduled.length > 0 ? [`${notScheduled.length} not scheduled`] : []),
        ...(invalid.length > 0 ? [plural(invalid.length, 'invalid runbook')] : []),
      ].join('; ');
    }
    return {
      // Like `runbooks list`: an invalid runbook file is bad input, even if the others list fine.
      exitCode: invalid.length > 0 ? ExitCode.usage : ExitCode.ok,
      summary,
      table: { columns, rows },
      lines: invalid.flatMap((e) => e.issues.map(formatIssue)),
      data: {
        now: now.toISOString(),
        runs: runs.map((r) => ({
          runbook: r.runbook,
          kind: r.kind,
          at: r.at.toISOString(),
          timezone: r.timezone,
          local: formatZoned(r.at, r.timezone),
          inMs: r.at.getTime() - now.getTime(),
          ...(r.announceAt ? { announceAt: r.announceAt.toISOString() } : {}),
        })),
        notScheduled,
        invalid,
      },
    };
  },
});
