import { ago, ExitCode, severityLabel, type AlertRecord } from '../src/core/index.js';
import { defineCommand } from './command.js';
import { bool, rawArgs } from './support/args.js';

/** Open alerts (or, with --all, resolved ones too), newest first. */
export const alertsCommand = defineCommand({
  name: 'alerts',
  summary: 'Open alerts (all runbooks, or one); --all includes resolved ones',
  description:
    'An alert stays open until its condition clears, and counts how often it was seen. `lifeboat ack <key>` acknowledges one: it stays open but is not notified again.',
  options: {
    all: { type: 'boolean', short: 'a', description: 'include resolved alerts' },
  },
  positionals: [{ name: 'runbook', description: 'only this runbook' }],
  schema: rawArgs.transform((r) => ({ runbook: r.positionals[0], all: bool(r.options.all) })),
  access: 'anyone',
  audited: false,
  async run(args, ctx) {
    const store = await ctx.store();
    const now = ctx.clock.now();
    const alerts = (await store.listAlerts({ runbook: args.runbook, status: args.all ? undefined : 'open' })).sort(newestFirst);
    const open = alerts.filter((a) => a.status === 'open').length;
    const scope = args.runbook ? ` for ${args.runbook}` : '';
    const summary = args.all
      ? `${count(alerts.length, 'alert')}${scope} (${open} open)`
      : open === 0
        ? `no open alerts${scope}`
        : `${count(open, 'open alert')}${scope}`;
    return {
      exitCode: ExitCode.ok,
      summary,
      table: {
        columns: [
          { key: 'severity', header: 'SEVERITY' },
          ...(args.all ? [{ key: 'status', header: 'STATUS' }] : []),
          { key: 'key', header: 'KEY' },
          { key: 'message', header: 'MESSAGE' },
          { key: 'firstSeen', header: 'FIRST SEEN' },
          { key: 'count', header: 'COUNT', align: 'right' as const },
          { key: 'acked', header: 'ACKED BY' },
        ],
        rows: alerts.map((a) => ({
          severity: severityLabel(a.severity),
          ...(args.all ? { status: a.status === 'resolved' ? `resolved ${ago(a.resolvedAt, now)}` : 'open' } : {}),
          key: a.key,
          message: a.message,
          firstSeen: ago(a.firstSeen, now),
          count: String(a.count),
          acked: a.ackedBy ? `${a.ackedBy} ${ago(a.ackedAt, now)}` : '—',
        })),
      },
      data: alerts,
    };
  },
});

/** Newest alert first: by when it was first seen (every open alert's lastSeen is the last evaluation). */
function newestFirst(a: AlertRecord, b: AlertRecord): number {
  return Date.parse(b.firstSeen) - Date.parse(a.firstSeen);
}

function count(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}
