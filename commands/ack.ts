import { ago, deliveriesFor, ExitCode, hostOfAgentDownKey, LifeboatError, runbookOfAlertKey, severityLabel, toldSinks, type AlertRecord, type Runbook } from '../src/core/index.js';
import { defineCommand, type CommandContext, type CommandResult } from './command.js';
import { rawArgs } from './support/args.js';
import { loadRunbookArg } from './support/runbook-arg.js';

/**
 * Acknowledge an open alert: it stays open until its condition clears, but is
 * not escalated or repeated. The acknowledgement is a transition people hear
 * of (PagerDuty acknowledges the incident, Slack updates its message): written
 * with its deliveries to the sinks routed for the alert and those already told. Access: like a backup of the alert's runbook (the key
 * names it), so in Slack only those in the runbook's `access.backup` may
 * silence its alerts; locally the Unix user is trusted as for every command.
 */
export const ackCommand = defineCommand({
  name: 'ack',
  summary: 'Acknowledge an open alert (it stays open, but is not repeated or escalated)',
  options: {},
  positionals: [{ name: 'alert', description: 'the alert key, e.g. stale:app-data (see `lifeboat alerts`)', required: true }],
  schema: rawArgs.transform((r) => ({ key: r.positionals[0]! })),
  access: 'backup',
  // agent-down:<host> names a host, not a runbook (issue 19): decided, like a key naming none, by every runbook's list.
  runbookOf: (args) => (hostOfAgentDownKey(args.key) !== undefined ? undefined : runbookOfAlertKey(args.key)),
  async run(args, ctx): Promise<CommandResult> {
    // An empty or colon-less key names no alert (and no runbook whose access could allow it): refused, not looked up.
    if (args.key.split(':')[0] === '' || (runbookOfAlertKey(args.key) === undefined && hostOfAgentDownKey(args.key) === undefined)) {
      throw new LifeboatError('USAGE', `ack: refused: ${JSON.stringify(args.key)} is not an alert key (expected <rule>:<runbook>, e.g. stale:app-data; see \`lifeboat alerts\`)`);
    }
    const store = await ctx.store();
    const now = ctx.clock.now();
    const alert = await store.getAlert(args.key);
    if (!alert) {
      const open = (await store.listAlerts({ status: 'open' })).map((a) => a.key).sort();
      throw new LifeboatError(
        'USAGE',
        `ack: no alert "${args.key}"; ${open.length === 0 ? 'there are no open alerts' : `open alerts: ${open.join(', ')}`}`,
      );
    }
    if (alert.status === 'resolved') {
      return {
        exitCode: ExitCode.ok,
        summary: `${alert.key} is already resolved (${ago(alert.resolvedAt, now)}); nothing to acknowledge`,
        data: alert,
      };
    }
    if (alert.ackedBy) {
      return {
        exitCode: ExitCode.ok,
        summary: `${alert.key} was already acknowledged by ${alert.ackedBy} ${ago(alert.ackedAt, now)}`,
        data: alert,
      };
    }
    const acked: AlertRecord = { ...alert, ackedBy: ctx.actor.user, ackedAt: now.toISOString() };
    const told = toldSinks(await store.listDeliveries({ runbook: alert.runbook }), alert);
    const routes = await routesOf(alert.runbook, ctx);
    const owed = deliveriesFor({ alert: acked, transition: 'acknowledged', runbook: routes, config: ctx.config, clock: ctx.clock, told });
    // Written only over the record read above: if an evaluation changed it meanwhile, look again (it may have resolved).
    if (!(await store.putAlert(acked, owed, { ifStored: alert }))) return ackCommand.run(args, ctx);
    return {
      exitCode: ExitCode.ok,
      summary: `acknowledged ${acked.key} (${severityLabel(acked.severity)}): it stays open until the condition clears, without repeats or escalations`,
      lines: [acked.message],
      data: acked,
    };
  },
});

/**
 * The alert's runbook, for its routes. A runbook that no longer loads (edited
 * into an invalid state, removed) still gets its acknowledgement to the sinks
 * told of the alert and lifeboat.yaml's default routes.
 */
async function routesOf(name: string, ctx: CommandContext): Promise<Pick<Runbook, 'alerts'>> {
  try {
    return await loadRunbookArg(name, ctx);
  } catch {
    return { alerts: { anomaly: { window: 0, minHistory: 0, threshold: 0 } } };
  }
}
