import { ago, ExitCode, severityLabel, type AlertRecord } from '../src/core/index.js';
import { defineCommand } from './command.js';
import { bool, rawArgs, str } from './support/args.js';
import { deliveriesResult, deliveryStatuses, type DeliveryStatus } from './support/deliveries-view.js';

interface AlertsArgs {
  runbook: string | undefined;
  all: boolean;
  /** The outbox instead of the alerts. */
  deliveries?: boolean;
  status?: DeliveryStatus;
}

const alertsArgs = rawArgs
  .refine((r) => r.options.status === undefined || deliveryStatuses.includes(r.options.status as DeliveryStatus), {
    message: `--status must be one of ${deliveryStatuses.join(', ')}`,
  })
  .refine((r) => r.options.status === undefined || r.options.deliveries === true, { message: '--status goes with --deliveries' })
  .refine((r) => !(str(r.options.runbook) !== undefined && r.positionals[0] !== undefined && r.positionals[0] !== r.options.runbook), {
    message: 'name the runbook once: as an argument or with --runbook',
  })
  .transform((r): AlertsArgs => ({
    runbook: str(r.options.runbook) ?? r.positionals[0],
    all: bool(r.options.all),
    deliveries: bool(r.options.deliveries),
    status: str(r.options.status) as DeliveryStatus | undefined,
  }));

/** Open alerts (or, with --all, resolved ones too), newest first; with --deliveries, the outbox. */
export const alertsCommand = defineCommand({
  name: 'alerts',
  summary: 'Open alerts (all runbooks, or one); --all includes resolved ones',
  description:
    'An alert stays open until its condition clears, and counts how many runs saw it. `lifeboat ack <key>` acknowledges one: it stays open but is not repeated or escalated. `--deliveries` shows what each alert transition owes each sink (Slack, webhook, PagerDuty…): pending ones first, with attempts, the next try and the last error.',
  options: {
    all: { type: 'boolean', short: 'a', description: 'include resolved alerts' },
    deliveries: { type: 'boolean', description: 'the outbox: what each alert transition owes each sink (pending first), attempts and last error' },
    status: { type: 'string', description: 'with --deliveries: only pending, delivered or failed ones', valueName: 'STATUS' },
    runbook: { type: 'string', description: 'only this runbook (as the argument)', valueName: 'NAME' },
  },
  positionals: [{ name: 'runbook', description: 'only this runbook' }],
  schema: alertsArgs,
  access: 'anyone',
  audited: false,
  async run(args, ctx) {
    const store = await ctx.store();
    const now = ctx.clock.now();
    if (args.deliveries) {
      const all = await store.listDeliveries({ runbook: args.runbook, status: args.status });
      const scope = `${args.runbook ? ` for ${args.runbook}` : ''}${args.status ? ` (${args.status})` : ''}`;
      return { exitCode: ExitCode.ok, ...deliveriesResult(all, now, scope) };
    }
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
