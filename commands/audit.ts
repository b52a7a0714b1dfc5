/**
 * `lifeboat audit`: the reader of the audit log that invokeCommand writes for
 * every command from every face (who asked for what, from where, and how it
 * ended, refusals included).
 *
 * Open to anyone, like `history`, which already shows who started each run:
 * the log holds the same kind of fact (arguments as typed, redacted on the way
 * in, no secrets). Reading it is not itself audited, or every look would add
 * an entry to what is being looked at.
 */
import { ExitCode, formatTime, LifeboatError, listRunbooks, nothingRecordedNote, parseWhen, refuseNothingHere, type AuditRecord } from '../src/core/index.js';
import { defineCommand } from './command.js';
import { rawArgs, str } from './support/args.js';

const DEFAULT_LIMIT = 50;

export const auditCommand = defineCommand({
  name: 'audit',
  summary: 'Who asked for what, from which face, and how it ended (the audit log), newest first',
  description:
    'Every command run from the CLI, the console, Slack or the scheduler is in the audit log, refusals included; reading it (and status, history, alerts) is not. ' +
    '--runbook keeps entries about one runbook (entries written before Lifeboat recorded the runbook have none), --user one person (a Unix user, a Slack user id, or scheduler), ' +
    '--since those at or after a date (2026-12-01, 2026-12-01T08:00Z) or a duration back from now (7d, 12h).',
  options: {
    runbook: { type: 'string', description: 'only entries about this runbook', valueName: 'R' },
    user: { type: 'string', description: 'only entries of this user', valueName: 'U' },
    since: { type: 'string', description: 'only entries since a date or a duration back (7d)', valueName: 'WHEN' },
    limit: { type: 'string', description: `how many entries to show (default ${DEFAULT_LIMIT})`, valueName: 'N' },
  },
  positionals: [],
  schema: rawArgs.transform((r, ctx) => {
    const text = str(r.options.limit) ?? String(DEFAULT_LIMIT);
    const limit = Number(text);
    if (!/^\d+$/.test(text) || limit < 1 || limit > 10_000) ctx.addIssue({ code: 'custom', message: `--limit must be a whole number from 1 to 10000, got "${text}"` });
    for (const name of ['runbook', 'user', 'since'] as const) {
      if (str(r.options[name]) === '') ctx.addIssue({ code: 'custom', message: `--${name} needs a value` });
    }
    return { runbook: str(r.options.runbook), user: str(r.options.user), since: str(r.options.since), limit };
  }),
  access: 'anyone',
  audited: false,
  async run(args, ctx) {
    // The duration counts back from the context's clock, so it is parsed here rather than in the schema.
    const since = args.since === undefined ? undefined : parseSince(args.since, ctx.clock.now());
    const store = await ctx.store();
    const entries = await store.listAudit({ runbook: args.runbook, user: args.user, since: since?.toISOString(), limit: args.limit });
    const lines: string[] = [];
    if (entries.length === 0) {
      const where = { store, home: ctx.home, runbooksDir: ctx.runbooksDir, cwd: ctx.cwd, env: ctx.env, config: ctx.config };
      await refuseNothingHere(where, (await listRunbooks({ runbooksDir: ctx.runbooksDir, home: ctx.home, cwd: ctx.cwd })).length);
      const note = await nothingRecordedNote(where);
      if (note !== undefined) lines.push(note);
    }
    const filters = [args.runbook && `about ${args.runbook}`, args.user && `by ${args.user}`, since && `since ${formatTime(since.toISOString())}`].filter(Boolean);
    return {
      exitCode: ExitCode.ok,
      summary: [`${entries.length} audit entr${entries.length === 1 ? 'y' : 'ies'}`, ...filters].join(' '),
      table: {
        columns: [
          { key: 'at', header: 'AT' },
          { key: 'by', header: 'BY' },
          { key: 'command', header: 'COMMAND' },
          { key: 'runbook', header: 'RUNBOOK' },
          { key: 'from', header: 'FROM' },
          { key: 'result', header: 'RESULT' },
          { key: 'detail', header: 'DETAIL' },
        ],
        rows: entries.map(auditRow),
      },
      ...(lines.length > 0 ? { lines } : {}),
      data: entries,
    };
  },
});

function parseSince(text: string, now: Date): Date {
  try {
    return parseWhen(text, now, `--since ${text}`);
  } catch (e) {
    throw new LifeboatError('USAGE', `audit: ${(e as Error).message}`);
  }
}

function auditRow(e: AuditRecord): Record<string, string> {
  return {
    at: formatTime(e.at),
    by: `${e.actor.user} (${e.actor.face})`,
    command: [e.command, ...e.args].join(' '),
    runbook: e.runbook ?? '—',
    from: e.where ?? '—',
    result: e.result,
    detail: e.detail ?? '',
  };
}
