/**
 * After every backup and drill, the alert rules look at the runbook's history:
 * a new condition raises an alert (as an event every face renders), a cleared
 * one resolves. A broken rule or sink never changes the command's own result.
 */
import { eventNotifier, evaluateAlerts } from '../../src/core/alerts/index.js';
import type { Runbook } from '../../src/core/runbook/types.js';
import type { CommandContext } from '../command.js';

export async function evaluateAlertsAfterRun(runbook: Runbook, ctx: CommandContext): Promise<string[]> {
  try {
    const result = await evaluateAlerts({ runbook, store: await ctx.store(), clock: ctx.clock, notifier: eventNotifier(ctx.emit) });
    return result.raised.map((a) => `alert raised: [${a.severity}] ${a.key}: ${a.message}`);
  } catch (e) {
    ctx.emit({ type: 'log', level: 'warn', message: `alert evaluation failed: ${(e as Error).message}` });
    return [];
  }
}
